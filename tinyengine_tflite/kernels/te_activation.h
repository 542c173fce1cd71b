/* Activation kernels: int8 SOFTMAX and LOG_SOFTMAX (TFLite's reference fixed-point kernels, gemmlowp
 * arithmetic), L2_NORMALIZATION (reference_integer_ops::L2Normalization: the row's sum of squares, its inverse
 * square root as a fixed-point multiplier, GetInvSqrtQuantizedMultiplierExp) and a 256-entry lookup table for
 * int8 -> int8 functions (LOGISTIC and the operators of ops/lut.py: the compiler fills it as the chosen
 * reference computes each input value).
 *
 * All may run in place (output == input): the row kernels read a row whole (maximum, sums) before they write
 * it, then read each element c before they write output c; the table lookup is elementwise. */
#ifndef TE_ACTIVATION_H
#define TE_ACTIVATION_H

#include <stdint.h>

typedef struct {
    int32_t outer;            /* number of rows */
    int32_t depth;            /* softmax runs over the last dimension, depth values per row */
    int32_t input_mult;       /* beta * input_scale * 2^26 as (multiplier, left shift >= 0) */
    int32_t input_left_shift;
    int32_t diff_min;         /* differences from the row maximum below this contribute exp() = 0 */
} te_softmax_params;

/* Output scale 1/256, zero point -128. A row whose exps sum to 512 or more (TFLite's kernels stop on a
 * failed check there) gets -128 everywhere, the correctly rounded result. */
void te_softmax_s8(const te_softmax_params *p, const int8_t *input, int8_t *output);

typedef struct {
    te_softmax_params softmax;   /* beta = 1 */
    int32_t reverse_mult;        /* the inverse of the input rescaling: (multiplier, shift <= 0) */
    int32_t reverse_shift;
} te_log_softmax_params;

/* Output scale 16/256, zero point 127: log(softmax) over the last dimension (at most 4095 values). */
void te_log_softmax_s8(const te_log_softmax_params *p, const int8_t *input, int8_t *output);

/* L2_NORMALIZATION: output scale 1/128, zero point 0. */
typedef struct {
    int32_t outer;            /* number of rows */
    int32_t depth;            /* values per row (the last dimension) */
    int32_t input_offset;     /* -input zero point */
} te_l2norm_params;

void te_l2norm_s8(const te_l2norm_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t size;
} te_lut_params;

/* output[i] = lut[(uint8_t)input[i]]: the table is indexed by the input's bit pattern (0..127, -128..-1). */
void te_lut_s8(const te_lut_params *p, const int8_t *input, const int8_t *lut, int8_t *output);

#endif /* TE_ACTIVATION_H */
