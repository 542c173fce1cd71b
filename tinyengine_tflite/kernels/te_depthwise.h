/* DEPTHWISE_CONV_2D kernels: normal and MCUNet's in-place execution.
 *
 * Activations are NHWC int8 with batch 1; bias int32; per-channel requantization (multiplier, shift);
 * input_offset is minus the input zero point, output_offset the output zero point (as te_conv.h).
 * Weights are channel-major taps, w[c][ky][kx] (tinyengine_tflite.ops.conv packs them); the bias has the input
 * zero point folded in, and padding takes the zero point, which keeps the fold exact at the borders.
 *
 * Every kernel's _get_buffer_size function gives the bytes of scratch it needs, the one definition the
 * compiler's planner is checked against. */
#ifndef TE_DEPTHWISE_H
#define TE_DEPTHWISE_H

#include <stdint.h>

#include "te_common.h"

/* DEPTHWISE_CONV_2D (the shared API types of te_common.h; te_conv_params' fields, then the depth multiplier:
 * CMSIS-NN's cmsis_nn_dw_conv_params with its dims). */
typedef struct {
    te_dims input, output;
    te_hw kernel, stride, dilation;
    te_hw padding;           /* top, left (rows and columns past the input are padding too) */
    int32_t input_offset;    /* -input zero point (padding takes the zero point) */
    int32_t output_offset;
    te_activation activation;
    int32_t depth_mult;      /* output.c / input.c */
} te_dw_params;

/* Depthwise convolution works one channel at a time on int16 copies of kernel.h of its input rows (a ring of
 * rows, each gathered once: raw values, the zero point for the padding; row length: the padded width
 * (output.w - 1) * stride.w + (kernel.w - 1) * dilation.w + 1, plus one, rounded up to even), so taps are
 * multiplied two at a time; the scratch holds the taps (kernel.h rows of kernel.w rounded up to even, int16)
 * and the rows. The _k3 / _k5 / _k7 variants are the kernel unrolled for a square kernel of that size and
 * dilation 1; on the DSP path (when not built for size) with stride.w 1 or 2 they compute tiles of 4 adjacent
 * outputs that share their loads, the taps held as SMLAD operands. With depth multiplier 1 and every channel's
 * requantization te_quant_fast's they take 4 channels at a time (te_depthwise.c's te_dw_ring4): a ring of
 * kernel.h slots holds each input row of the 4 channels as int16 column pairs, gathered with one 32-bit load per
 * pixel; in place, the outputs go straight over the input. Where the shape allows that ring (square 3x3, 5x5 or
 * 7x7, dilation 1, depth multiplier 1, stride.w 1 or 2, 4 channels or more) the scratch is at least its size:
 * 4 channels' taps (two sets with stride 1), 4 requantization constants and 4 * kernel.h int16 rows; the in-place
 * scratch (the plane, then these buffers) holds it whole, so the buffers grow only by what the plane lacks. */
int32_t te_depthwise_conv_s8_get_buffer_size(const te_dw_params *p);
void te_depthwise_conv_s8(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);
void te_depthwise_conv_s8_k3(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                             const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);
void te_depthwise_conv_s8_k5(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                             const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);
void te_depthwise_conv_s8_k7(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                             const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);

int32_t te_depthwise_conv_s8_k3_get_buffer_size(const te_dw_params *p);
int32_t te_depthwise_conv_s8_k5_get_buffer_size(const te_dw_params *p);
int32_t te_depthwise_conv_s8_k7_get_buffer_size(const te_dw_params *p);

/* In place (MCUNet): output may start at input (depth_mult 1). Each input row is read once, before any output
 * row that covers it is written, so where that order holds (dilation 1, padding.h < kernel.h, output.w <= input.w) the
 * outputs go straight over the input; otherwise each channel is computed into scratch (an output.h * output.w plane,
 * rounded up to 4, then the depthwise buffers) and then written over its own input channel, which no later
 * channel reads. */
int32_t te_depthwise_conv_s8_inplace_get_buffer_size(const te_dw_params *p);
void te_depthwise_conv_s8_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  int8_t *scratch);
void te_depthwise_conv_s8_inplace_k3(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                     int8_t *output, int8_t *scratch);
void te_depthwise_conv_s8_inplace_k5(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                     int8_t *output, int8_t *scratch);
void te_depthwise_conv_s8_inplace_k7(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                     int8_t *output, int8_t *scratch);
int32_t te_depthwise_conv_s8_inplace_k3_get_buffer_size(const te_dw_params *p);
int32_t te_depthwise_conv_s8_inplace_k5_get_buffer_size(const te_dw_params *p);
int32_t te_depthwise_conv_s8_inplace_k7_get_buffer_size(const te_dw_params *p);

#endif /* TE_DEPTHWISE_H */
