/* Convolution-family kernels: CONV_2D, DEPTHWISE_CONV_2D (normal and in-place), FULLY_CONNECTED.
 *
 * Activations are NHWC int8 with batch 1; filters OHWI (conv) or 1HWC (depthwise); bias int32; per-channel
 * requantization (multiplier, shift). Conv and fully-connected biases have the input zero point folded in by
 * the compiler (bias - zp_in * sum(filter)), so they accumulate raw input values. Each kernel with a scratch
 * buffer documents its size as a _scratch_bytes twin. */
#ifndef TE_CONV_H
#define TE_CONV_H

#include <stdint.h>

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
    int32_t input_zp;        /* padding value: the input zero point */
    int32_t output_offset;
    int32_t act_min, act_max;
} te_conv_params;

/* 2 * k_h * k_w * in_c bytes (two im2col columns), 0 for a 1x1 stride-1 unpadded convolution. */
int32_t te_conv2d_s8_scratch_bytes(const te_conv_params *p);
void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t depth_mult;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
    int32_t input_offset;    /* -input zero point */
    int32_t output_offset;
    int32_t act_min, act_max;
} te_dw_params;

/* Scratch: one channel's taps (k_h * k_w int16, rounded up to 4 bytes) and k_h of its input rows (int16, padded
 * width (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1). */
int32_t te_depthwise_conv_s8_scratch_bytes(const te_dw_params *p);
void te_depthwise_conv_s8(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);

/* In place (MCUNet): output may start at input (depth_mult 1); each channel is computed into scratch
 * (an out_h * out_w plane, rounded up to 4, then the rows above) and then written over its own input channel,
 * which no later channel reads. */
int32_t te_depthwise_conv_s8_inplace_scratch_bytes(const te_dw_params *p);
void te_depthwise_conv_s8_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  int8_t *scratch);

typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;     /* mult/shift hold out_depth values when 1, one value when 0 */
    int32_t double_rounding; /* requantization: 1 rounds twice (TFLite's MultiplyByQuantizedMultiplier, as
                              * TFLM's kernel), 0 once (as LiteRT's reference kernel) */
} te_fc_params;

void te_fully_connected_s8(const te_fc_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *output);

#endif /* TE_CONV_H */
