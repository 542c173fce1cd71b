/* See te_elementwise.h. */
#include "te_elementwise.h"

#include "te_common.h"

/* ADD's per-call constants: the three rescalings split once (te_quant_channel; their multipliers are >= 0). */
typedef struct {
    te_quant_ch in1, in2, out;
    int32_t input1_offset, input2_offset, output_offset, left_shift, act_min, act_max;
} te_add_ctx;

static inline int8_t te_add_one(const void *ctx, int32_t x, int32_t y) {
    const te_add_ctx *c = (const te_add_ctx *)ctx;
    /* |x - zp| <= 255, so the 2^20 shift stays well inside int32 (as in TFLite). */
    const int32_t a = (x + c->input1_offset) * (1 << c->left_shift);
    const int32_t b = (y + c->input2_offset) * (1 << c->left_shift);
    /* MultiplyByQuantizedMultiplierSmallerThanOneExp: the double-rounding multiply with a shift <= 0. */
    const int32_t sum = te_quant_scale(&c->in1, a) + te_quant_scale(&c->in2, b);
    return (int8_t)te_clamp(te_quant_scale(&c->out, sum) + c->output_offset, c->act_min, c->act_max);
}

typedef struct {
    te_quant_ch out;
    int32_t input1_offset, input2_offset, output_offset, act_min, act_max;
} te_mul_ctx;

static inline int8_t te_mul_one(const void *ctx, int32_t x, int32_t y) {
    const te_mul_ctx *c = (const te_mul_ctx *)ctx;
    const int32_t prod = (x + c->input1_offset) * (y + c->input2_offset);
    return (int8_t)te_clamp(te_quant_scale(&c->out, prod) + c->output_offset, c->act_min, c->act_max);
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
    const te_add_ctx c = {te_quant_channel(p->input1_mult, p->input1_shift),
                          te_quant_channel(p->input2_mult, p->input2_shift),
                          te_quant_channel(p->output_mult, p->output_shift),
                          p->input1_offset, p->input2_offset, p->output_offset, p->left_shift, p->act_min,
                          p->act_max};
    te_broadcast_s8(&p->shape, input1, input2, output, te_add_one, &c);
}

void te_mul_s8(const te_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const te_mul_ctx c = {te_quant_channel(p->output_mult, p->output_shift), p->input1_offset, p->input2_offset,
                          p->output_offset, p->act_min, p->act_max};
    te_broadcast_s8(&p->shape, input1, input2, output, te_mul_one, &c);
}
