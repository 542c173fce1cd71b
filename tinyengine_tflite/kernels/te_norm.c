/* See te_norm.h. */
#include "te_norm.h"

#include "te_common.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT with exponent > 0: x * 2^exponent, saturated. */
static int32_t te_sat_shift_left(int32_t x, int exponent) {
    const int32_t limit = INT32_MAX >> exponent;
    if (x > limit) {
        return INT32_MAX;
    }
    if (x < -limit) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
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
    int leading_zeros = 0;
    for (uint32_t v = (uint32_t)x; (v & 0x80000000u) == 0u; v <<= 1) {
        ++leading_zeros;
    }
    const int pairs = (leading_zeros - 1) / 2 - 1;
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
