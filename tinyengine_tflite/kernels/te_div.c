/* DIV; see te_div.h. */
#include "te_div.h"
#include "te_common.h"

/* TFLite CountLeadingSignBits (|x| < 2^31): 31 for 0. */
static int te_leading_sign_bits(int32_t x) {
    return x >= 0 ? te_count_leading_zeros((uint32_t)x) - 1 : te_count_leading_zeros(2u * (uint32_t)(-x) - 1u);
}

/* gemmlowp RoundingDivideByPOT(v, e) for e in [0, 63] as the references run it: for e >= 32 the mask is all
 * ones and the int32 shift count wraps modulo 32 (x86), so v is kept whole (+1 when v >= 0). */
static int32_t te_div_rounding_shift(int32_t v, int e) {
    if (e <= 31) {
        return te_rounding_divide_by_pot(v, e);
    }
    return (int32_t)((uint32_t)(v >> (e & 31)) + (v >= 0 ? 1u : 0u));
}

static int8_t te_div_one(const te_div_params *p, int32_t a, int32_t b, const int32_t *recip,
                         const int32_t *recip_shift) {
    int32_t x = a + p->input1_offset;
    if (b < p->input2_zero_point) {
        x = -x;
    }
    const int headroom = te_leading_sign_bits(x);
    const int32_t quotient = te_sat_round_doubling_high_mul((int32_t)((uint32_t)x << headroom), recip[b + 128]);
    const int e = headroom + recip_shift[b + 128] - p->shift;
    const int32_t v = te_div_rounding_shift(te_sat_round_doubling_high_mul(quotient, p->multiplier), e);
    return (int8_t)te_clamp((int32_t)((uint32_t)v + (uint32_t)p->output_offset), p->act_min, p->act_max);
}

void te_div_s8(const te_div_params *p, const int8_t *a, const int8_t *b, const int32_t *recip,
               const int32_t *recip_shift, int8_t *output) {
    int8_t *out = output;
    for (int32_t i0 = 0; i0 < p->n0; ++i0) {
        for (int32_t i1 = 0; i1 < p->n1; ++i1) {
            for (int32_t i2 = 0; i2 < p->n2; ++i2) {
                for (int32_t i3 = 0; i3 < p->n3; ++i3) {
                    const int8_t *ra = a + i0 * p->a0 + i1 * p->a1 + i2 * p->a2 + i3 * p->a3;
                    const int8_t *rb = b + i0 * p->b0 + i1 * p->b1 + i2 * p->b2 + i3 * p->b3;
                    for (int32_t i4 = 0; i4 < p->n4; ++i4) {
                        *out++ = te_div_one(p, ra[i4 * p->a4], rb[i4 * p->b4], recip, recip_shift);
                    }
                }
            }
        }
    }
}
