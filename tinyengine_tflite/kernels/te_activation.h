/* Activation kernels: int8 SOFTMAX (TFLite's reference fixed-point softmax, gemmlowp arithmetic) and a
 * 256-entry lookup table for int8 -> int8 functions (LOGISTIC: the compiler fills it as LiteRT's reference
 * kernel or TFLM's fixed-point logistic computes each input value).
 *
 * Both may run in place (output == input): softmax reads each row's element c before it writes output c,
 * and the table lookup is elementwise. */
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
    int32_t size;
} te_lut_params;

/* output[i] = lut[(uint8_t)input[i]]: the table is indexed by the input's bit pattern (0..127, -128..-1). */
void te_lut_s8(const te_lut_params *p, const int8_t *input, const int8_t *lut, int8_t *output);

#endif /* TE_ACTIVATION_H */
