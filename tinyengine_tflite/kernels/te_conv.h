/* Convolution-family kernels: CONV_2D and FULLY_CONNECTED (DEPTHWISE_CONV_2D: te_depthwise.h).
 *
 * Activations are NHWC int8 with batch 1; bias int32; per-channel requantization (multiplier, shift arrays, a
 * te_per_channel_quant_params inside the kernels). Parameter structs and offsets follow te_common.h's kernel
 * API: input_offset is minus the input zero point, output_offset the output zero point.
 *
 * Weight layouts are chosen at compile time (tinyengine_tflite.ops.conv packs them):
 * - CONV_2D and FULLY_CONNECTED take "pair-packed" weights: output channels in pairs (a zero channel completes
 *   an odd count), each channel's depth (kernel.h * kernel.w * input.c, in OHWI order) padded with zeros to a
 *   multiple of 4, and the two channels of a pair interleaved four values at a time: w[o][0..3], w[o+1][0..3], w[o][4..7], ...
 *   so that one 8-byte load feeds a 2x2 register tile (two pixels by two channels). Their biases have the input
 *   zero point folded in (bias + input_offset * sum(filter)), so they accumulate raw input values; padding
 *   takes the input zero point, which keeps the fold exact at the borders.
 *
 * Every kernel with a scratch buffer has a _get_buffer_size function: the bytes of scratch it needs, the one
 * definition the compiler's planner is checked against. */
#ifndef TE_CONV_H
#define TE_CONV_H

#include <stdint.h>

#include "te_common.h"

/* CONV_2D (the shared API types of te_common.h; CMSIS-NN's cmsis_nn_conv_params with its dims). */
typedef struct {
    te_dims input, output;
    te_hw kernel, stride, dilation;
    te_hw padding;           /* top, left (rows and columns past the input are padding too) */
    int32_t input_offset;    /* -input zero point (padding takes the zero point) */
    int32_t output_offset;
    te_activation activation;
} te_conv_params;

/* Any convolution, through im2col: two columns of the padded depth (kernel.h * kernel.w * input.c rounded up
 * to 4). */
int32_t te_conv2d_s8_get_buffer_size(const te_conv_params *p);
void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);

/* te_conv2d_s8 with a larger scratch: two columns as int16 pairs (4 * the padded depth), plus, when input.c is
 * not a multiple of 4, the two int8 columns they are sign-extended from (6 * the padded depth). On the DSP path
 * each input is sign-extended once per pixel pair, not once per channel pair (elsewhere it is te_conv2d_s8).
 * The planner picks it where the arena has room for the scratch at that layer; a 1x1 convolution with input.c a
 * multiple of 4 may take it too. */
int32_t te_conv2d_s8_q15_get_buffer_size(const te_conv_params *p);
void te_conv2d_s8_q15(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);

/* 1x1, stride 1, no padding: each pixel's input vector is read where it is (no scratch).
 *
 * te_conv2d_1x1_s8_c4 and te_conv2d_s8 require the output not to overlap the input (the compiler's planner never
 * places a layer's input and output together; only the in-place depthwise kernels share them): on the DSP path
 * of speed builds they run their leading pixel pairs through te_conv2d_s8_q15's path with its scratch taken from
 * the output's tail, which is written last (te_conv.c: te_q15_lead). */
void te_conv2d_1x1_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output);
/* The same for input.c a multiple of 4 and output.c even (compiled without the tails). */
void te_conv2d_1x1_s8_c4(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, int8_t *output);

/* FULLY_CONNECTED (the input offset is folded into the bias, so there is no input_offset). */
typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t output_offset;
    te_activation activation;
    int32_t per_channel;     /* mult/shift hold out_depth values when 1, one value when 0 */
    int32_t double_rounding; /* requantization: 1 rounds twice (TFLite's MultiplyByQuantizedMultiplier, as
                              * TFLM's kernel), 0 once (as LiteRT's reference kernel) */
} te_fc_params;

/* Pair-packed weights (in_depth is the depth); each batch row is one "pixel". */
void te_fully_connected_s8(const te_fc_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *output);

#endif /* TE_CONV_H */
