/* See te_elementwise.h. */
#include "te_elementwise.h"

#include "te_common.h"
#include "te_rescale.h"

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

/* ADD: te_add_s8 is te_rescale.h's fast form (one multiply-accumulate for the sum, one for the requantization,
 * no branch), for every ADD short of input scales 2^21 apart or an output scale outside 2^-17..2^6 of the larger
 * input scale; the compiler calls te_add_s8_general, all three rescalings through te_rescale, for the others. */
void te_add_s8(const te_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const te_broadcast *sh = &p->shape;
    const int32_t a_st[4] = {sh->a_s0, sh->a_s1, sh->a_s2, sh->a_s3};
    const int32_t b_st[4] = {sh->b_s0, sh->b_s1, sh->b_s2, sh->b_s3};
    const int first = te_sum_fast_first_halved(p->input1_mult, p->input1_shift);   /* e: input 1, s: input 2 */
    const te_sum_fast c = te_sum_fast_init(1, first ? p->input1_offset : p->input2_offset, 1,
                                           first ? p->input2_offset : p->input1_offset,
                                           first ? p->input2_mult : p->input1_mult,
                                           first ? p->input2_shift : p->input1_shift, p->output_mult,
                                           p->output_shift, p->output_offset, p->act_min, p->act_max);
    te_sum_fast_walk(sh, &c, 1 << 19, first ? input1 : input2, first ? a_st : b_st, first ? input2 : input1,
                     first ? b_st : a_st, output);
}

typedef struct {
    te_rescale in1, in2, out;
    int32_t input1_offset, input2_offset, output_offset, act_min, act_max;
} te_add_ctx;

static inline int8_t te_add_one(const void *ctx, int32_t x, int32_t y) {
    const te_add_ctx *c = (const te_add_ctx *)ctx;
    const int32_t sum =
        te_rescale_apply(&c->in1, x + c->input1_offset) + te_rescale_apply(&c->in2, y + c->input2_offset);
    return (int8_t)te_clamp(te_rescale_apply(&c->out, sum) + c->output_offset, c->act_min, c->act_max);
}

void te_add_s8_general(const te_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const te_add_ctx c = {te_rescale_init(p->input1_mult, p->input1_shift, p->left_shift),
                          te_rescale_init(p->input2_mult, p->input2_shift, p->left_shift),
                          te_rescale_init(p->output_mult, p->output_shift, 0), p->input1_offset, p->input2_offset,
                          p->output_offset, p->act_min, p->act_max};
    te_broadcast_s8(&p->shape, input1, input2, output, te_add_one, &c);
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

void te_mul_s8(const te_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const te_mul_ctx c = {te_quant_channel(p->output_mult, p->output_shift), p->input1_offset, p->input2_offset,
                          p->output_offset, p->act_min, p->act_max};
    te_broadcast_s8(&p->shape, input1, input2, output, te_mul_one, &c);
}
