/* TRANSPOSE_CONV over int8 NHWC tensors (batch 1): int8 per-channel weights [out_c][k_h][k_w][in_c], an int32
 * bias (zeros where the model has none), requantized per output channel as TFLite's reference kernel does
 * (MultiplyByQuantizedMultiplier, then the output offset and the clamp). TFLite scatters every input pixel into
 * an int32 image of the output; this kernel gathers instead: each output value sums the input pixels whose
 * window covers it, so it needs no scratch, and the integer sums are the same. */
#ifndef TE_TRANSPOSE_CONV_H
#define TE_TRANSPOSE_CONV_H

#include <stdint.h>

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;      /* output row/column of filter tap (0, 0) of input pixel (0, 0) is -pad */
    int32_t input_offset;           /* -input zero point */
    int32_t output_offset;          /* output zero point */
    int32_t act_min, act_max;
} te_transpose_conv_params;

void te_transpose_conv_s8(const te_transpose_conv_params *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

#endif /* TE_TRANSPOSE_CONV_H */
