/* See te_elementwise.h. */
#include "te_elementwise.h"

#include "te_common.h"

static inline int8_t te_add_one(const void *params, int32_t x, int32_t y) {
    const te_add_params *p = (const te_add_params *)params;
    /* |x - zp| <= 255, so the 2^20 shift stays well inside int32 (as in TFLite). */
    const int32_t a = (x + p->input1_offset) * (1 << p->left_shift);
    const int32_t b = (y + p->input2_offset) * (1 << p->left_shift);
    /* MultiplyByQuantizedMultiplierSmallerThanOneExp: the double-rounding multiply with a shift <= 0. */
    const int32_t sa = te_multiply_by_quantized_multiplier(a, p->input1_mult, p->input1_shift);
    const int32_t sb = te_multiply_by_quantized_multiplier(b, p->input2_mult, p->input2_shift);
    const int32_t out = te_multiply_by_quantized_multiplier(sa + sb, p->output_mult, p->output_shift) +
                        p->output_offset;
    return (int8_t)te_clamp(out, p->act_min, p->act_max);
}

static inline int8_t te_mul_one(const void *params, int32_t x, int32_t y) {
    const te_mul_params *p = (const te_mul_params *)params;
    const int32_t prod = (x + p->input1_offset) * (y + p->input2_offset);
    const int32_t out = te_multiply_by_quantized_multiplier(prod, p->output_mult, p->output_shift) +
                        p->output_offset;
    return (int8_t)te_clamp(out, p->act_min, p->act_max);
}

/* Walks the broadcast output in order, calling one(params, a, b) per element. `one` is a constant at each
 * call site, so once this is inlined (always) the compiler calls or inlines it directly. */
TE_ALWAYS_INLINE void te_broadcast_s8(const te_broadcast *s, const int8_t *input1, const int8_t *input2,
                                    int8_t *output, int8_t (*one)(const void *, int32_t, int32_t),
                                    const void *params) {
    int8_t *o = output;
    for (int32_t i0 = 0; i0 < s->n0; ++i0) {
        for (int32_t i1 = 0; i1 < s->n1; ++i1) {
            for (int32_t i2 = 0; i2 < s->n2; ++i2) {
                const int8_t *a = input1 + i0 * s->a_s0 + i1 * s->a_s1 + i2 * s->a_s2;
                const int8_t *b = input2 + i0 * s->b_s0 + i1 * s->b_s1 + i2 * s->b_s2;
                for (int32_t i3 = 0; i3 < s->n3; ++i3) {
                    *o++ = one(params, *a, *b);
                    a += s->a_s3;
                    b += s->b_s3;
                }
            }
        }
    }
}

void te_add_s8(const te_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    te_broadcast_s8(&p->shape, input1, input2, output, te_add_one, p);
}

void te_mul_s8(const te_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    te_broadcast_s8(&p->shape, input1, input2, output, te_mul_one, p);
}
