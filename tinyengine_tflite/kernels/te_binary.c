/* See te_binary.h. */
#include "te_binary.h"

#include <stddef.h>

#include "te_common.h"
#include "te_rescale.h"

typedef int8_t (*te_binary_fn)(const void *ctx, int32_t x, int32_t y);

/* Visits the output row by row (a row: the innermost merged dimension), calling one(ctx, a, b) per element
 * in output order; `one` is a constant at each call site, so it is called or inlined directly. */
TE_ALWAYS_INLINE void te_binary_rows(const te_broadcast *s, const int8_t *input1, const int8_t *input2,
                                     int8_t *output, te_binary_fn one, const void *ctx) {
    const int32_t rows = s->n0 * s->n1 * s->n2;
    for (int32_t r = 0; r < rows; ++r) {
        const int32_t i2 = r % s->n2;
        const int32_t i1 = (r / s->n2) % s->n1;
        const int32_t i0 = r / (s->n2 * s->n1);
        const int8_t *a = input1 + i0 * s->a_s0 + i1 * s->a_s1 + i2 * s->a_s2;
        const int8_t *b = input2 + i0 * s->b_s0 + i1 * s->b_s1 + i2 * s->b_s2;
        int8_t *o = output + r * s->n3;
        for (int32_t k = 0; k < s->n3; ++k) {
            o[k] = one(ctx, a[k * s->a_s3], b[k * s->b_s3]);
        }
    }
}

/* SUB and SQUARED_DIFFERENCE's per-call constants (the rescalings split once; multipliers >= 0). */
typedef struct {
    te_quant_ch in1, in2, out;
    const te_sub_params *p;
} te_sub_ctx;

static inline int32_t te_scaled_difference(const te_sub_ctx *c, int32_t x, int32_t y) {
    /* |x - zp| <= 255: the shifted values stay inside int32, as in TFLite. */
    const int32_t a = (x + c->p->input1_offset) * (1 << c->p->left_shift);
    const int32_t b = (y + c->p->input2_offset) * (1 << c->p->left_shift);
    return te_quant_scale(&c->in1, a) - te_quant_scale(&c->in2, b);
}

static inline int8_t te_sub_one(const void *ctx, int32_t x, int32_t y) {
    const te_sub_ctx *c = (const te_sub_ctx *)ctx;
    const int32_t d = te_scaled_difference(c, x, y);
    return te_quant_output(&c->out, c->p->negate ? -d : d, c->p->output_offset, c->p->act_min, c->p->act_max);
}

static inline int8_t te_squared_difference_one(const void *ctx, int32_t x, int32_t y) {
    const te_sub_ctx *c = (const te_sub_ctx *)ctx;
    const int32_t d = te_scaled_difference(c, x, y);   /* at most 255 * 2^7: the square fits int32 */
    return te_quant_output(&c->out, d * d, c->p->output_offset, c->p->act_min, c->p->act_max);
}

static te_sub_ctx te_sub_context(const te_sub_params *p) {
    const te_sub_ctx c = {te_quant_channel(p->input1_mult, p->input1_shift),
                          te_quant_channel(p->input2_mult, p->input2_shift),
                          te_quant_channel(p->output_mult, p->output_shift), p};
    return c;
}

/* SUB: te_sub_s8 is ADD's fast form (te_rescale.h) with the signs of the difference (negated where the compiler
 * swapped the operands), under te_add_s8's preconditions; te_sub_s8_general takes any parameters. */
void te_sub_s8(const te_sub_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const te_broadcast *sh = &p->shape;
    const int32_t a_st[4] = {sh->a_s0, sh->a_s1, sh->a_s2, sh->a_s3};
    const int32_t b_st[4] = {sh->b_s0, sh->b_s1, sh->b_s2, sh->b_s3};
    const int first = te_sum_fast_first_halved(p->input1_mult, p->input1_shift);   /* e: input 1, s: input 2 */
    const int32_t sign1 = p->negate ? -1 : 1;
    const te_sum_fast c = te_sum_fast_init(first ? sign1 : -sign1, first ? p->input1_offset : p->input2_offset,
                                           first ? -sign1 : sign1, first ? p->input2_offset : p->input1_offset,
                                           first ? p->input2_mult : p->input1_mult,
                                           first ? p->input2_shift : p->input1_shift, p->output_mult,
                                           p->output_shift, p->output_offset, p->act_min, p->act_max);
    te_sum_fast_walk(sh, &c, c.exact_mult, first ? input1 : input2, first ? a_st : b_st, first ? input2 : input1,
                     first ? b_st : a_st, output);
}

void te_sub_s8_general(const te_sub_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    const te_sub_ctx c = te_sub_context(p);
    te_binary_rows(&p->shape, input1, input2, output, te_sub_one, &c);
}

void te_squared_difference_s8(const te_sub_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output) {
    const te_sub_ctx c = te_sub_context(p);
    te_binary_rows(&p->shape, input1, input2, output, te_squared_difference_one, &c);
}

static inline int8_t te_max_one(const void *ctx, int32_t x, int32_t y) {
    (void)ctx;
    return (int8_t)TE_MAX(x, y);
}

static inline int8_t te_min_one(const void *ctx, int32_t x, int32_t y) {
    (void)ctx;
    return (int8_t)TE_MIN(x, y);
}

void te_maximum_s8(const te_minmax_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    te_binary_rows(&p->shape, input1, input2, output, te_max_one, NULL);
}

void te_minimum_s8(const te_minmax_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    te_binary_rows(&p->shape, input1, input2, output, te_min_one, NULL);
}

typedef struct {
    te_quant_ch pos, neg;
    const te_prelu_params *p;
} te_prelu_ctx;

static inline int8_t te_prelu_one(const void *ctx, int32_t x, int32_t alpha) {
    const te_prelu_ctx *c = (const te_prelu_ctx *)ctx;
    const int32_t v = x + c->p->input_offset;
    if (v >= 0) {
        return te_quant_output(&c->pos, v, c->p->output_offset, -128, 127);
    }
    return te_quant_output(&c->neg, v * (alpha + c->p->alpha_offset), c->p->output_offset, -128, 127);
}

void te_prelu_s8(const te_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output) {
    const te_prelu_ctx c = {te_quant_channel(p->mult_pos, p->shift_pos), te_quant_channel(p->mult_neg, p->shift_neg),
                            p};
    te_binary_rows(&p->shape, input, alpha, output, te_prelu_one, &c);
}
