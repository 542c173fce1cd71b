/* A per-element rescaling without branches for the elementwise kernels (internal to the library).
 *
 * te_rescale_apply(r, x) == te_quant_scale(&te_quant_channel(mult, shift), x * 2^left_shift) (te_common.h:
 * TFLite's MultiplyByQuantizedMultiplier with a multiplier in [0, 2^31) and shift <= 0, as ADD and SUB rescale
 * each input with left_shift 20 and their sum with left_shift 0), bit for bit, for every x with
 * |x| * 2^pre < 2^31 (pre <= left_shift + 1; te_rescale_fits checks a bound).
 *
 * With the right shift e = -shift, the references compute floor((x m 2^L + 2^30 + [e > 0] (2^(30+e) -
 * [x < 0] 2^31)) / 2^(31+e)) (te_common.h's te_quant_ch derives that fold). Dividing numerator and divisor by
 * 2^L (exact: L <= 30) and scaling both by 2^pre so that the divisor becomes 2^(32 + post) leaves one 32x32->64
 * multiply-accumulate of (x << pre) onto a 64-bit constant, a sign-masked correction and the high word:
 *   e <= L + 1: pre = L + 1 - e, post = 0;  e > L + 1: pre = 0, post = e - L - 1.
 * For ADD's inputs (|x| <= 255, L = 20) pre <= 21, so x << pre stays below 2^29; for the output (L = 0,
 * |x| < 2^29) pre <= 1. */
#ifndef TE_RESCALE_H
#define TE_RESCALE_H

#include <stdint.h>

#include "te_common.h"
#include "te_dsp.h"
#include "te_elementwise.h"

typedef struct {
    int32_t mult;       /* in [0, 2^31) */
    int32_t pre;        /* left shift of x */
    int32_t post;       /* arithmetic right shift of the high word */
    int64_t round;      /* the rounding constant for x >= 0 (scaled by 2^pre) */
    uint32_t neg;       /* subtracted from round when x < 0 (scaled by 2^pre; 0 when e = 0) */
} te_rescale;

static inline te_rescale te_rescale_init(int32_t mult, int32_t shift, int32_t left_shift) {
    const int32_t e = -shift;
    te_rescale r;
    r.mult = mult;
    r.pre = e <= left_shift + 1 ? left_shift + 1 - e : 0;
    r.post = e <= left_shift + 1 ? 0 : e - left_shift - 1;
    /* (2^(30-L) + [e > 0] 2^(30-L+e)) * 2^pre and [e > 0] 2^(31-L) * 2^pre. */
    const int32_t base = 30 - left_shift + r.pre;
    r.round = ((int64_t)1 << base) + (e > 0 ? ((int64_t)1 << (base + e)) : 0);
    r.neg = e > 0 ? (uint32_t)1 << (base + 1) : 0u;
    return r;
}

/* Whether te_rescale_apply is exact for every |x| <= max_abs: a multiplier >= 0, a shift <= 0 (the elementwise
 * kernels' rescalings) and x << pre inside int32. */
static inline int te_rescale_fits(int32_t mult, int32_t shift, int32_t left_shift, int32_t max_abs) {
    if (mult < 0 || shift > 0 || left_shift < 0 || left_shift > 30) {
        return 0;
    }
    const te_rescale r = te_rescale_init(mult, shift, left_shift);
    return r.pre < 31 && (int64_t)max_abs << r.pre < ((int64_t)1 << 31);
}

static inline int32_t te_rescale_apply(const te_rescale *r, int32_t x) {
    /* x >> 31 is all ones for x < 0: the mask selects the correction without a branch. */
    const int64_t t = r->round - (int64_t)(r->neg & (uint32_t)(x >> 31)) +
                      (int64_t)(int32_t)((uint32_t)x << r->pre) * r->mult;
    return (int32_t)(t >> 32) >> r->post;
}

/* ADD and SUB's fast form: out = clamp(requant(sign_e * rescale(e + offset_e) + sign_s * rescale(s + offset_s))
 * + output_offset), both rescalings TFLite's with left shift 20, when (te_elementwise.h's te_add_s8
 * preconditions) input e's multiplier is exactly 1/2, input s's right shift at most 21 and the output's shift
 * in [-24, -2].
 * - e's term is exact: (e + offset_e) * 2^19 (the doubling high multiply by 2^30 rounds nothing away). It goes
 *   straight into the high word of s's te_rescale accumulator: floor((h 2^32 + t) / 2^32) = h + floor(t / 2^32).
 * - s's right shift <= 21 makes its te_rescale post 0 and its rounding constant 32-bit. A subtracted term uses
 *   -floor(t / 2^32) = floor((2^32 - 1 - t) / 2^32): the low word ~(round - [v < 0] neg) = ~round + [v < 0] neg
 *   (in [0, 2^32): neg <= round) and the multiplier negated.
 * - the output requantizes through te_quant_fast (te_common.h: the output offset folded in; output shifts -24..-2).
 * So the sum and the requantization cost one multiply-accumulate each, and no branch. */
typedef struct {
    int32_t exact_mult, exact_offset;   /* +-2^19 and +-offset_e * 2^19 */
    int32_t offset, pre;                /* s's term: v = (s + offset) << pre */
    uint32_t round, neg;                /* its low word: round + (neg & [v < 0]) */
    int32_t mult;                       /* +-its multiplier */
    te_quant_fast out;
    int32_t act_min, act_max;
    int32_t out_k, out_r;               /* te_sum_fast_dsp_row's output constants (out_r 0: it does not apply) */
    int32_t scale, offset_scaled;       /* 2^pre and offset 2^pre */
} te_sum_fast;

/* sign_e, sign_s: +1 or -1; (mult, shift): s's rescaling; (out_mult, out_shift): the output's. */
static inline te_sum_fast te_sum_fast_init(int32_t sign_e, int32_t offset_e, int32_t sign_s, int32_t offset_s,
                                           int32_t mult, int32_t shift, int32_t out_mult, int32_t out_shift,
                                           int32_t output_offset, int32_t act_min, int32_t act_max) {
    const te_rescale in = te_rescale_init(mult, shift, 20);
    te_sum_fast c;
    c.exact_mult = sign_e * (1 << 19);
    c.exact_offset = sign_e * offset_e * (1 << 19);
    c.offset = offset_s;
    c.pre = in.pre;
    c.round = sign_s > 0 ? (uint32_t)in.round : ~(uint32_t)in.round;
    c.neg = sign_s > 0 ? 0u - in.neg : in.neg;
    c.mult = sign_s * mult;
    c.out = te_quant_fast_channel(out_mult, out_shift, output_offset);
    c.act_min = act_min;
    c.act_max = act_max;
    /* te_sum_fast_dsp_row: K = 2^(r-1) + output_offset 2^r, |K| <= 2^21 + 2^29 for r <= 22 */
    const int32_t r = -out_shift;
    const int ok = r >= 1 && r <= 22 && out_mult >= 0 && output_offset >= -128 && output_offset <= 128;
    c.out_r = ok ? r : 0;
    c.scale = (int32_t)(1u << in.pre);
    c.offset_scaled = (int32_t)((uint32_t)offset_s << in.pre);
    c.out_k = ok ? (int32_t)(((int64_t)1 << (r - 1)) + (int64_t)output_offset * ((int64_t)1 << r)) : 0;
    return c;
}

/* One row of n outputs, e at stride se, s at stride ss. The constants come in as scalars so that they live in
 * registers (the int8 stores may alias anything and would force reloads from a struct); exact_mult is a
 * literal 2^19 for ADD, which makes the exact term one add with a shifted operand. */
TE_ALWAYS_INLINE void te_sum_fast_row(const int8_t *e, int32_t se, const int8_t *s, int32_t ss, int8_t *o, int32_t n,
                                      int32_t exact_mult, int32_t exact_offset, int32_t offset, int32_t pre,
                                      uint32_t round, uint32_t neg, int32_t mult, te_quant_fast out,
                                      int32_t act_min, int32_t act_max) {
    for (int32_t k = 0; k < n; ++k) {
        const int32_t v = (int32_t)((uint32_t)(s[k * ss] + offset) << pre);
        const uint32_t lo = round + (neg & (uint32_t)(v >> 31));
        const uint32_t hi = (uint32_t)(e[k * se] * exact_mult + exact_offset);
        int64_t acc = (int64_t)(((uint64_t)hi << 32) | lo);
        acc += (int64_t)v * mult;                                   /* one SMLAL */
        const int32_t sum = (int32_t)((uint64_t)acc >> 32);
        o[k] = (int8_t)te_clamp(te_quant_fast_scale(out, sum), act_min, act_max);      /* one SMLAL */
    }
}

#if TE_DSP && !defined(__OPTIMIZE_SIZE__)
/* te_sum_fast_row on the DSP path (speed builds) where c->out_r applies: the same sum, then the output's
 * te_quant_fast value through one SMMLAR. With P = sum * mult, y = floor((2 sum mult + 2^31) / 2^32) =
 * floor((P + 2^30) / 2^31) (SMMLAR of 2 sum: |sum| < 2^29, see below), and P + 2^30 = 2^31 y + rem with
 * 0 <= rem < 2^31, te_quant_fast's floor((P + 2^30 + 2^(30+r) - [sum < 0] 2^31 + off 2^(31+r)) / 2^(31+r))
 * is floor((y + K - [sum < 0] + rem / 2^31) / 2^r) = (y + K - [sum < 0]) >> r with K = 2^(r-1) + off 2^r (an
 * integer plus a fraction below 1 floors as the integer). Bounds: |e term| <= 255 2^19, |s term| <= 2^28
 * (|v| < 2^29, mult < 2^31), so |sum| < 2^29, |y| < 2^29 and |y + K| < 2^31 for r <= 22. The input's value v =
 * (s + offset) << pre is one multiply-accumulate (s 2^pre + offset 2^pre; the factor comes from memory, so the
 * compiler keeps the MLA). About 17 instructions an element (te_sum_fast_row's take 26). */
TE_ALWAYS_INLINE int32_t te_sum_fast_dsp_one(int32_t x, int32_t y, int32_t scale, int32_t offset_scaled,
                                            uint32_t round, uint32_t neg, int32_t mult, int32_t exact_mult,
                                            int32_t exact_offset, int32_t out_mult, int32_t k, int32_t r) {
    const int32_t v = x * scale + offset_scaled;
    const uint32_t lo = round + (neg & (uint32_t)(v >> 31));
    const uint32_t hi = (uint32_t)(y * exact_mult + exact_offset);
    int64_t acc = (int64_t)(((uint64_t)hi << 32) | lo);
    acc += (int64_t)v * mult;                                                   /* one SMLAL */
    const int32_t sum = (int32_t)((uint64_t)acc >> 32);
    return (te_smmlar(sum + sum, out_mult, k) + (sum >> 31)) >> r;
}

TE_ALWAYS_INLINE void te_sum_fast_dsp_loop(const int8_t *e, int32_t se, const int8_t *s, int32_t ss, int8_t *o,
                                           int32_t n, int32_t exact_mult, const te_sum_fast *c, const int full) {
    const int32_t scale = c->scale, offset_scaled = c->offset_scaled;
    const uint32_t round = c->round, neg = c->neg;
    const int32_t mult = c->mult, exact_offset = c->exact_offset, out_mult = c->out.mult, k = c->out_k;
    const int32_t r = c->out_r, lo = c->act_min, hi = c->act_max;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t v = te_sum_fast_dsp_one(s[i * ss], e[i * se], scale, offset_scaled, round, neg, mult,
                                              exact_mult, exact_offset, out_mult, k, r);
        o[i] = (int8_t)(full ? te_sat_s8(v) : te_clamp(v, lo, hi));
    }
}

/* One row: a call of its own, so that the walk's values do not crowd the loop's registers. */
static TE_NOINLINE void te_sum_fast_dsp_row(const int8_t *e, int32_t se, const int8_t *s, int32_t ss, int8_t *o,
                                            int32_t n, int32_t exact_mult, const te_sum_fast *c) {
    if (c->act_min == -128 && c->act_max == 127) {
        if (se == 1 && ss == 1) {   /* same-shape rows: the residual connections */
            te_sum_fast_dsp_loop(e, 1, s, 1, o, n, exact_mult, c, 1);
        } else {
            te_sum_fast_dsp_loop(e, se, s, ss, o, n, exact_mult, c, 1);
        }
    } else {
        te_sum_fast_dsp_loop(e, se, s, ss, o, n, exact_mult, c, 0);
    }
}
#endif

/* The broadcast walk (te_elementwise.h) of the fast form over output, e and s with their strides (es, ss: four
 * each); same-shape rows get their own loop. */
TE_ALWAYS_INLINE void te_sum_fast_walk(const te_broadcast *sh, const te_sum_fast *c, int32_t exact_mult,
                                       const int8_t *e, const int32_t *es, const int8_t *s, const int32_t *ss,
                                       int8_t *output) {
    int8_t *o = output;
    for (int32_t i0 = 0; i0 < sh->n0; ++i0) {
        for (int32_t i1 = 0; i1 < sh->n1; ++i1) {
            for (int32_t i2 = 0; i2 < sh->n2; ++i2) {
                const int8_t *a = e + i0 * es[0] + i1 * es[1] + i2 * es[2];
                const int8_t *b = s + i0 * ss[0] + i1 * ss[1] + i2 * ss[2];
#if TE_DSP && !defined(__OPTIMIZE_SIZE__)
                if (c->out_r != 0) {    /* the DSP rows */
                    te_sum_fast_dsp_row(a, es[3], b, ss[3], o, sh->n3, exact_mult, c);
                    o += sh->n3;
                    continue;
                }
#endif
#if !defined(__OPTIMIZE_SIZE__)    /* a build for size (-Os) keeps one loop */
                if (es[3] == 1 && ss[3] == 1) {     /* same-shape rows: the residual connections */
                    te_sum_fast_row(a, 1, b, 1, o, sh->n3, exact_mult, c->exact_offset, c->offset, c->pre, c->round,
                                    c->neg, c->mult, c->out, c->act_min, c->act_max);
                } else
#endif
                {
                    te_sum_fast_row(a, es[3], b, ss[3], o, sh->n3, exact_mult, c->exact_offset, c->offset, c->pre,
                                    c->round, c->neg, c->mult, c->out, c->act_min, c->act_max);
                }
                o += sh->n3;
            }
        }
    }
}

/* Whether input 1's rescaling is exactly 1/2 (else, for the fast form, input 2's is). */
static inline int te_sum_fast_first_halved(int32_t input1_mult, int32_t input1_shift) {
    return input1_mult == (1 << 30) && input1_shift == 0;
}

#endif /* TE_RESCALE_H */
