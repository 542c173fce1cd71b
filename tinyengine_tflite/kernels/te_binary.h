/* Elementwise binary kernels besides ADD and MUL: int8 SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM and PRELU,
 * with the same broadcasting as te_elementwise.h (te_broadcast: at most four merged output dimensions,
 * per-input element strides, 0 along a broadcast dimension), bit-exact with TFLite's reference kernels.
 *
 * Each may run in place (output == input1) when input1 has the output's shape: element i of the output is
 * written after element i of each input has been read, and never before. */
#ifndef TE_BINARY_H
#define TE_BINARY_H

#include <stdint.h>

#include "te_elementwise.h"

typedef struct {
    te_broadcast shape;
    int32_t input1_offset, input2_offset;   /* -zero point of each input */
    int32_t output_offset;
    int32_t left_shift;                     /* 20 for SUB, 7 for SQUARED_DIFFERENCE */
    int32_t input1_mult, input1_shift;      /* shifts <= 0 */
    int32_t input2_mult, input2_shift;
    int32_t output_mult, output_shift;
    int32_t act_min, act_max;
    int32_t negate;                         /* 1: the compiler swapped the operands; the result is negated */
} te_sub_params;

/* d = rescale(in1 - zp1) - rescale(in2 - zp2) (ADD's left-shift scheme);
 * SUB: out = clamp(requant(+-d) + zp_out); SQUARED_DIFFERENCE: out = clamp(requant(d * d) + zp_out).
 * te_sub_s8 requires te_add_s8's preconditions (te_elementwise.h); te_sub_s8_general takes any parameters. */
void te_sub_s8(const te_sub_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void te_sub_s8_general(const te_sub_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void te_squared_difference_s8(const te_sub_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output);

typedef struct {
    te_broadcast shape;
} te_minmax_params;

/* The larger / smaller int8 value (TFLite compares the raw values: the quantizations must agree). */
void te_maximum_s8(const te_minmax_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void te_minimum_s8(const te_minmax_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

typedef struct {
    te_broadcast shape;
    int32_t input_offset, alpha_offset, output_offset;
    int32_t mult_pos, shift_pos;            /* input_scale / output_scale */
    int32_t mult_neg, shift_neg;            /* input_scale * alpha_scale / output_scale */
} te_prelu_params;

/* x = in - zp: out = clamp(requant_pos(x)) if x >= 0, else clamp(requant_neg(x * (alpha - zp_alpha))). */
void te_prelu_s8(const te_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output);

#endif /* TE_BINARY_H */
