/* See te_activation.h.
 *
 * The softmax and log-softmax follow TFLite's reference int8 softmax: differences from the row maximum are rescaled to
 * Q5.26, exponentiated in fixed point (gemmlowp's exp_on_negative_values), summed in Q12.19, and the
 * reciprocal of the sum comes from gemmlowp's Newton-Raphson one_over_one_plus_x_for_x_in_0_1. The
 * helpers below are written from the published algorithm; names follow gemmlowp's for reference. */
#include "te_activation.h"

#include "te_common.h"

/* Saturating left shift by 1 <= exponent <= 30 (gemmlowp SaturatingRoundingMultiplyByPOT, positive). */
static inline int32_t te_sat_shift_left(int32_t x, int exponent) {
    const int32_t threshold = (int32_t)(((int32_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: a fourth-order Taylor expansion around -1/8. */
static int32_t te_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
    const int32_t constant_term = 1895147668;      /* exp(-1/8) in Q0.31 */
    const int32_t constant_1_over_3 = 715827883;   /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);               /* x = a + 1/8 */
    const int32_t x2 = te_sat_round_doubling_high_mul(x, x);
    const int32_t x3 = te_sat_round_doubling_high_mul(x2, x);
    const int32_t x4 = te_sat_round_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = te_rounding_divide_by_pot(x4, 2);
    const int32_t poly = te_rounding_divide_by_pot(
        te_sat_round_doubling_high_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + te_sat_round_doubling_high_mul(constant_term, x + poly);
}

/* exp(a) for a <= 0: a in Q5.26, result in Q0.31 (exp(0) saturates to INT32_MAX). */
static int32_t te_exp_on_negative_values_q5(int32_t a) {
    static const int32_t barrel[7] = {
        1672461947,  /* exp(-1/4) */
        1302514674,  /* exp(-1/2) */
        790015084,   /* exp(-1) */
        290630308,   /* exp(-2) */
        39332535,    /* exp(-4) */
        720401,      /* exp(-8) */
        242          /* exp(-16) */
    };
    const int32_t one_quarter = 1 << 24;           /* 1/4 in Q5.26 */
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = te_exp_on_interval_between_negative_one_quarter_and_0_excl(
        te_sat_shift_left(a_mod_quarter_minus_one_quarter, 5));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int k = 0; k < 7; ++k) {
        if (remainder & (1 << (24 + k))) {
            result = te_sat_round_doubling_high_mul(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded to nearest, halves away from zero. */
static inline int32_t te_rounding_half_sum(int32_t a, int32_t b) {
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / (1 + a) for a in [0, 1): a in Q0.31, result in Q0.31 (three Newton-Raphson steps in Q2.29). */
static int32_t te_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t half_denominator = te_rounding_half_sum(a, INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    int32_t x = constant_48_over_17 + te_sat_round_doubling_high_mul(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = te_sat_round_doubling_high_mul(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = (1 << 29) - half_denominator_times_x;
        x = x + te_sat_shift_left(te_sat_round_doubling_high_mul(x, one_minus_half_denominator_times_x), 2);
    }
    return te_sat_shift_left(x, 1);
}

/* Sums of exps (Q12.19) at or above 2^28 would need a right shift beyond 31 in the last step. */
#define TE_SOFTMAX_SUM_LIMIT (1u << 28)

/* exp(beta * input_scale * diff) in Q0.31 for a difference diff >= diff_min from the row maximum. */
static inline int32_t te_softmax_exp(const te_softmax_params *p, int32_t diff) {
    /* MultiplyByQuantizedMultiplierGreaterThanOne: |diff| * 2^shift < 2^31 is guaranteed by diff_min. */
    const int32_t rescaled = te_sat_round_doubling_high_mul(diff * (1 << p->input_left_shift), p->input_mult);
    return te_exp_on_negative_values_q5(rescaled);
}

void te_softmax_s8(const te_softmax_params *p, const int8_t *input, int8_t *output) {
    const int32_t depth = p->depth;
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *in = input + i * depth;
        int8_t *out = output + i * depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < depth; ++c) {
            max_in_row = TE_MAX(max_in_row, (int32_t)in[c]);
        }
        /* Sum of exps in Q12.19. */
        uint32_t sum_of_exps = 0;
        for (int32_t c = 0; c < depth && sum_of_exps < TE_SOFTMAX_SUM_LIMIT; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                sum_of_exps += (uint32_t)te_rounding_divide_by_pot(te_softmax_exp(p, diff), 12);
            }
        }
        if (sum_of_exps >= TE_SOFTMAX_SUM_LIMIT) {
            /* A sum of 512 or more: TFLite's kernels stop on a failed check here (the final shift would exceed
             * 31). Every probability is then below 1/512, which rounds to output 0: write that. */
            for (int32_t c = 0; c < depth; ++c) {
                out[c] = -128;
            }
            continue;
        }
        /* GetReciprocal: 1 / sum as a Q0.31 scale and a power of two. */
        const int headroom_plus_one = te_count_leading_zeros(sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one = (int32_t)((sum_of_exps << headroom_plus_one) - 0x80000000u);
        const int32_t shifted_scale = te_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
        const int exponent = num_bits_over_unit + 31 - 8;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            int32_t v = -128;
            if (diff >= p->diff_min) {
                const int32_t exp_in_0 = te_softmax_exp(p, diff);
                const int32_t unsat = te_rounding_divide_by_pot(
                    te_sat_round_doubling_high_mul(shifted_scale, exp_in_0), exponent);
                v = te_clamp(unsat - 128, -128, 127);
            }
            out[c] = (int8_t)v;
        }
    }
}

/* gemmlowp SaturatingRoundingMultiplyByPOTParam with exponent >= 0. */
static inline int32_t te_sat_shift_left_param(int32_t x, int exponent) {
    return exponent == 0 ? x : te_sat_shift_left(x, exponent);
}

static inline int32_t te_wrap_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);   /* gemmlowp's raw fixed-point sum: wraps */
}

static inline int32_t te_sat_add(int32_t a, int32_t b) {
    const int64_t s = (int64_t)a + (int64_t)b;
    return (int32_t)(s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : s));
}

/* log(x) for x >= 1: x in Q12.19, result in Q5.26. TFLite's log_x_for_x_greater_than_or_equal_to_1<5>: x is
 * normalized two ways (by its leading zeros, and after a multiply by sqrt(1/2)), the integer part of log2 is
 * the shift, the rest a rational approximation around 2^(-1/4); sums are accumulated in Q6.25. */
static int32_t te_log_q12_to_q5(int32_t z_a) {
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;   /* Q0.31 */
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = 1 << 23;                /* 1/4 in Q6.25 */
    const int z_a_headroom_plus_1 = te_count_leading_zeros((uint32_t)z_a);
    const int32_t r_a_tmp = te_sat_shift_left_param(z_a, z_a_headroom_plus_1 - 1);
    const int32_t r_a = te_sat_shift_left_param(te_sat_round_doubling_high_mul(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj = te_sat_add(te_sat_shift_left_param(12 - z_a_headroom_plus_1, 25), shifted_quarter);
    const int32_t z_b = te_sat_round_doubling_high_mul(z_a, sqrt_half);
    const int z_b_headroom = te_count_leading_zeros((uint32_t)z_b) - 1;
    const int32_t r_b = te_sat_shift_left_param(z_a, z_b_headroom);
    const int32_t z_b_pow_2_adj = te_sat_add(te_sat_shift_left_param(12 - z_b_headroom, 25), -shifted_quarter);
    const int32_t r = TE_MIN(r_a, r_b);
    const int32_t z_pow_2_adj = TE_MAX(z_a_pow_2_adj, z_b_pow_2_adj);
    const int32_t p = te_rounding_half_sum(r, sqrt_sqrt_half);
    int32_t q = te_wrap_add(r, -sqrt_sqrt_half);
    q = te_wrap_add(q, q);
    const int32_t common_sq = te_sat_round_doubling_high_mul(q, q);
    const int32_t num = te_wrap_add(te_sat_round_doubling_high_mul(q, r),
                                    te_sat_round_doubling_high_mul(te_sat_round_doubling_high_mul(q, common_sq),
                                                                   alpha_n));
    const int32_t denom_minus_one = te_wrap_add(
        te_sat_round_doubling_high_mul(p, te_wrap_add(te_wrap_add(alpha_i, q),
                                                      te_sat_round_doubling_high_mul(alpha_d, common_sq))),
        te_sat_round_doubling_high_mul(alpha_f, q));
    const int32_t recip_denom = te_one_over_one_plus_x_for_x_in_0_1(denom_minus_one);
    const int32_t num_scaled = te_rounding_divide_by_pot(num, 6);
    return te_sat_shift_left(te_wrap_add(te_sat_round_doubling_high_mul(z_pow_2_adj, log_2),
                                         te_sat_round_doubling_high_mul(num_scaled, recip_denom)), 1);
}

void te_log_softmax_s8(const te_log_softmax_params *p, const int8_t *input, int8_t *output) {
    const te_softmax_params *s = &p->softmax;
    for (int32_t i = 0; i < s->outer; ++i) {
        const int8_t *in = input + i * s->depth;
        int8_t *out = output + i * s->depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < s->depth; ++c) {
            max_in_row = TE_MAX(max_in_row, (int32_t)in[c]);
        }
        int32_t sum_of_exps = 0;   /* Q12.19; depth <= 4095 keeps it in range */
        for (int32_t c = 0; c < s->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= s->diff_min) {
                sum_of_exps += te_rounding_divide_by_pot(te_softmax_exp(s, diff), 12);
            }
        }
        const int32_t log_sum_of_exps = te_log_q12_to_q5(sum_of_exps);
        const int32_t adjusted_diff_min = TE_MAX(
            s->diff_min - 1, te_multiply_by_quantized_multiplier(te_wrap_add(log_sum_of_exps, INT32_MIN),
                                                                p->reverse_mult, p->reverse_shift));
        for (int32_t c = 0; c < s->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            int32_t v = -128;
            if (diff > adjusted_diff_min) {
                /* The rescaled difference (Q5.26) minus the log of the sum, to the output's 1/16 steps. */
                const int32_t q5 = te_sat_round_doubling_high_mul(diff * (1 << s->input_left_shift), s->input_mult);
                v = te_clamp(te_rounding_divide_by_pot(q5 - log_sum_of_exps, 22) + 127, -128, 127);
            }
            out[c] = (int8_t)v;
        }
    }
}

/* TFLite GetInvSqrtQuantizedMultiplierExp(x, reverse_shift = -1): 1 / sqrt(x) ~= multiplier * 2^(shift - 31),
 * by five Newton-Raphson steps in Q3.28 on x normalized to [2^27, 2^29). */
static void te_inv_sqrt_multiplier(int32_t x, int32_t *multiplier, int32_t *shift) {
    if (x <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t s = 11;
    while (x >= (1 << 29)) {
        x /= 4;
        ++s;
    }
    const int pairs = (te_count_leading_zeros((uint32_t)x) - 1) / 2 - 1;
    s -= pairs;
    x <<= 2 * pairs;
    const int32_t half_input = te_rounding_divide_by_pot(x >> 1, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t r = 1 << 28;                       /* one in Q3.28 */
    for (int i = 0; i < 5; ++i) {
        const int32_t r3 = te_sat_shift_left(
            te_sat_round_doubling_high_mul(te_sat_round_doubling_high_mul(r, r), r), 6);
        const uint32_t diff = (uint32_t)te_sat_round_doubling_high_mul(half_three, r) -
                              (uint32_t)te_sat_round_doubling_high_mul(half_input, r3);   /* wraps, as gemmlowp */
        r = te_sat_shift_left((int32_t)diff, 3);
    }
    r = te_sat_round_doubling_high_mul(r, 1518500250);   /* sqrt(2) / 2 in Q0.31 */
    if (s < 0) {
        r = (int32_t)((uint32_t)r << -s);
        s = 0;
    }
    *multiplier = r;
    *shift = -s;
}

void te_l2norm_s8(const te_l2norm_params *p, const int8_t *input, int8_t *output) {
    for (int32_t row = 0; row < p->outer; ++row) {
        const int8_t *in = input + row * p->depth;
        int8_t *out = output + row * p->depth;
        int32_t acc = 0;   /* at most 255^2 per value: exact for rows up to 2^15 values */
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t v = in[i] + p->input_offset;
            acc += v * v;
        }
        int32_t mult, shift;
        te_inv_sqrt_multiplier(acc, &mult, &shift);
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t v = te_multiply_by_quantized_multiplier(in[i] + p->input_offset, mult, shift + 7);
            out[i] = (int8_t)te_clamp(v, -128, 127);
        }
    }
}

void te_lut_s8(const te_lut_params *p, const int8_t *input, const int8_t *lut, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = lut[(uint8_t)input[i]];
    }
}
