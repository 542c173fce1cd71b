/* Pooling and reduction kernels: int8 AVERAGE_POOL_2D and MAX_POOL_2D (NHWC, batch 1) and int8 MEAN over any
 * axes, bit-exact with TFLite's reference integer kernels.
 *
 * Pools: padding is implicit (windows are clipped to the input, so a SAME average counts only the pixels
 * inside the input); the input and output share one quantization. The average rounds the raw sum divided by
 * the window's pixel count half away from zero; both pools clamp to the fused activation range.
 *
 * MEAN: the compiler merges the input's dimensions into kept ones (up to four, each with its input stride,
 * in output order) and reduced ones (up to four); for each output the kernel sums the reduced elements,
 * adds sum_offset (-input zero point * count) and rescales by (mult, shift), in which the compiler has
 * folded 1 / count as TFLite's QuantizedMeanOrSum does. */
#ifndef TE_POOL_H
#define TE_POOL_H

#include <stdint.h>

typedef struct {
    int32_t in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t act_min, act_max;
} te_pool_params;

void te_avg_pool_s8(const te_pool_params *p, const int8_t *input, int8_t *output);
void te_max_pool_s8(const te_pool_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t k_n0, k_n1, k_n2, k_n3;     /* kept dimensions, outermost first (1 when unused) */
    int32_t k_s0, k_s1, k_s2, k_s3;     /* their input strides (elements) */
    int32_t r_n0, r_n1, r_n2, r_n3;     /* reduced dimensions (1 when unused) */
    int32_t r_s0, r_s1, r_s2, r_s3;     /* their input strides */
    int32_t sum_offset;                 /* -input zero point * number of reduced elements */
    int32_t mult, shift;                /* 1 / count and input_scale / output_scale, TFLite-style */
    int32_t output_zp;
} te_mean_params;

void te_mean_s8(const te_mean_params *p, const int8_t *input, int8_t *output);

#endif /* TE_POOL_H */
