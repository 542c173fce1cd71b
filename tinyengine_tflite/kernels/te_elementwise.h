/* Elementwise binary kernels: int8 ADD and MUL with NumPy-style broadcasting, bit-exact with TFLite's
 * reference integer kernels (reference_integer_ops::Add / Mul and their 6-D broadcast versions).
 *
 * Broadcasting: the compiler merges the output's dimensions into at most four (n0..n3, outermost first)
 * and gives each input its element strides over them, 0 along a dimension it is broadcast in. A same-shape
 * operation is n3 = size with unit strides; a scalar operand has all-zero strides.
 *
 * Either kernel may run in place (output == input1) when input1 has the output's shape: element i of the
 * output is written after element i of each input has been read, and never before. */
#ifndef TE_ELEMENTWISE_H
#define TE_ELEMENTWISE_H

#include <stdint.h>

typedef struct {
    int32_t n0, n1, n2, n3;                 /* merged output shape */
    int32_t a_s0, a_s1, a_s2, a_s3;         /* input 1 strides (elements) */
    int32_t b_s0, b_s1, b_s2, b_s3;         /* input 2 strides (elements) */
} te_broadcast;

typedef struct {
    te_broadcast shape;
    int32_t input1_offset, input2_offset;   /* -zero point of each input */
    int32_t output_offset;
    int32_t left_shift;                     /* 20 for int8 */
    int32_t input1_mult, input1_shift;      /* shifts <= 0 */
    int32_t input2_mult, input2_shift;
    int32_t output_mult, output_shift;
    int32_t act_min, act_max;
} te_add_params;

/* out = clamp(requant(rescale(in1 - zp1) + rescale(in2 - zp2)) + zp_out): TFLite's left_shift scheme.
 * te_add_s8 is the fast variant: it requires left_shift 20, one input's multiplier exactly 1/2 (mult 2^30,
 * shift 0: TFLite's always is, for the input of larger scale), the other's shift >= -21 and an output shift in
 * [-24, -2]; the compiler calls te_add_s8_general (any multipliers >= 0, shifts <= 0) where these do not hold. */
void te_add_s8(const te_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void te_add_s8_general(const te_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

typedef struct {
    te_broadcast shape;
    int32_t input1_offset, input2_offset;
    int32_t output_offset;
    int32_t output_mult, output_shift;
    int32_t act_min, act_max;
} te_mul_params;

/* out = clamp(requant((in1 - zp1) * (in2 - zp2)) + zp_out). */
void te_mul_s8(const te_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif /* TE_ELEMENTWISE_H */
