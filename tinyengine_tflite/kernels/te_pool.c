/* Pooling and reduction kernels; see te_pool.h. */
#include "te_pool.h"

#include "te_common.h"
#include "te_dsp.h"

/* Channels pooled together: one pass over a window accumulates this many channels in registers/stack. */
#define TE_POOL_BLOCK 16

/* The part of output pixel (oy, ox)'s window that lies inside the input: rows [*y0, *y1), columns [*x0, *x1). */
static void te_pool_window(const te_pool_params *p, int32_t oy, int32_t ox, int32_t *y0, int32_t *y1, int32_t *x0,
                           int32_t *x1) {
    const int32_t iy = oy * p->stride_h - p->pad_top;
    const int32_t ix = ox * p->stride_w - p->pad_left;
    *y0 = TE_MAX(iy, 0);
    *y1 = TE_MIN(iy + p->k_h, p->in_h);
    *x0 = TE_MAX(ix, 0);
    *x1 = TE_MIN(ix + p->k_w, p->in_w);
}

/* Per-channel sums of 4 adjacent channels over rows x cols pixels from base (a pixel px_step bytes after the
 * previous one, a row row_step bytes after the previous row's first), added into sum[0..3]. The DSP path adds
 * each pixel's 4 channels with one load and two SXTAB16 into 16-bit lanes, which hold any sum of up to 256
 * int8 values; larger windows take the portable path. */
static void te_sum4_s8(const int8_t *base, int32_t rows, int32_t cols, int32_t row_step, int32_t px_step,
                       int32_t sum[4]) {
#if TE_DSP
    if (rows * cols <= 256) {
        uint32_t even = 0, odd = 0;     /* lanes: channels 0 and 2, channels 1 and 3 */
        for (int32_t y = 0; y < rows; ++y) {
            const int8_t *src = base + y * row_step;
            for (int32_t x = 0; x < cols; ++x) {
                const uint32_t w = te_load_u32(src);
                even = te_sxtab16(even, w);
                odd = te_sxtab16(odd, w >> 8);
                src += px_step;
            }
        }
        sum[0] += (int16_t)(uint16_t)even;
        sum[1] += (int16_t)(uint16_t)odd;
        sum[2] += (int16_t)(uint16_t)(even >> 16);
        sum[3] += (int16_t)(uint16_t)(odd >> 16);
        return;
    }
#endif
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *src = base + y * row_step;
        for (int32_t x = 0; x < cols; ++x) {
            s0 += src[0];
            s1 += src[1];
            s2 += src[2];
            s3 += src[3];
            src += px_step;
        }
    }
    sum[0] += s0;
    sum[1] += s1;
    sum[2] += s2;
    sum[3] += s3;
}

/* The sum of one channel over rows x cols pixels from base. */
static int32_t te_sum1_s8(const int8_t *base, int32_t rows, int32_t cols, int32_t row_step, int32_t px_step) {
    int32_t s = 0;
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *src = base + y * row_step;
        for (int32_t x = 0; x < cols; ++x) {
            s += *src;
            src += px_step;
        }
    }
    return s;
}

/* The sum divided by count, rounding halves away from zero (C division truncates toward zero). */
static inline int32_t te_rounded_average(int32_t sum, int32_t count) {
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

void te_avg_pool_s8(const te_pool_params *p, const int8_t *input, int8_t *output) {
    const int32_t channels = p->channels, row_step = p->in_w * channels;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int32_t y0, y1, x0, x1;
            te_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
            const int32_t rows = y1 - y0, cols = x1 - x0;
            const int32_t count = rows * cols;  /* >= 1: the compiler checks every window */
            const int8_t *base = input + (y0 * p->in_w + x0) * channels;
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            int32_t c = 0;
            for (; c + 4 <= channels; c += 4) {
                int32_t sum[4] = {0, 0, 0, 0};
                te_sum4_s8(base + c, rows, cols, row_step, channels, sum);
                for (int32_t k = 0; k < 4; ++k) {
                    out[c + k] = (int8_t)te_clamp(te_rounded_average(sum[k], count), p->act_min, p->act_max);
                }
            }
            for (; c < channels; ++c) {
                const int32_t sum = te_sum1_s8(base + c, rows, cols, row_step, channels);
                out[c] = (int8_t)te_clamp(te_rounded_average(sum, count), p->act_min, p->act_max);
            }
        }
    }
}

void te_max_pool_s8(const te_pool_params *p, const int8_t *input, int8_t *output) {
    const int32_t channels = p->channels;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int32_t y0, y1, x0, x1;
            te_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            for (int32_t c0 = 0; c0 < channels; c0 += TE_POOL_BLOCK) {
                const int32_t n = TE_MIN(TE_POOL_BLOCK, channels - c0);
                int8_t best[TE_POOL_BLOCK];
                for (int32_t k = 0; k < n; ++k) {
                    best[k] = INT8_MIN;
                }
                for (int32_t y = y0; y < y1; ++y) {
                    for (int32_t x = x0; x < x1; ++x) {
                        const int8_t *src = input + (y * p->in_w + x) * channels + c0;
                        for (int32_t k = 0; k < n; ++k) {
                            best[k] = src[k] > best[k] ? src[k] : best[k];
                        }
                    }
                }
                for (int32_t k = 0; k < n; ++k) {
                    out[c0 + k] = (int8_t)te_clamp(best[k], p->act_min, p->act_max);
                }
            }
        }
    }
}

/* The sums of the reduced elements from each of n kept positions base + k * k_step (n <= 4), into sum[0..n).
 * The two outer reduced groups loop here, the two inner ones are te_sum4_s8 / te_sum1_s8's rows and columns. */
static void te_mean_sums(const te_mean_params *p, const int8_t *base, int32_t n, int32_t k_step, int32_t sum[4]) {
    for (int32_t j0 = 0; j0 < p->r_n0; ++j0) {
        for (int32_t j1 = 0; j1 < p->r_n1; ++j1) {
            const int8_t *b = base + j0 * p->r_s0 + j1 * p->r_s1;
            if (n == 4) {
                te_sum4_s8(b, p->r_n2, p->r_n3, p->r_s2, p->r_s3, sum);
            } else {
                for (int32_t k = 0; k < n; ++k) {
                    sum[k] += te_sum1_s8(b + k * k_step, p->r_n2, p->r_n3, p->r_s2, p->r_s3);
                }
            }
        }
    }
}

/* One output of MEAN: its sum (sum_offset included) rescaled, offset and saturated. */
static inline int8_t te_mean_output(const te_mean_params *p, const te_quant_ch *q, int32_t sum) {
    return (int8_t)te_clamp(te_quant_scale(q, sum + p->sum_offset) + p->output_zp, INT8_MIN, INT8_MAX);
}

void te_mean_s8(const te_mean_params *p, const int8_t *input, int8_t *output) {
    const te_quant_ch q = te_quant_channel(p->mult, p->shift);     /* mult >= 0 */
    /* Four outputs at a time share one pass over the reduced elements when they are adjacent in the input; else
     * each output's values may be one contiguous run (the innermost axis reduced), summed inline. */
    const int32_t block = p->k_s3 == 1 ? 4 : 1;
    const int contiguous = block == 1 && p->r_n0 * p->r_n1 * p->r_n2 == 1 && p->r_s3 == 1;
    int8_t *out = output;
    for (int32_t i0 = 0; i0 < p->k_n0; ++i0) {
        for (int32_t i1 = 0; i1 < p->k_n1; ++i1) {
            for (int32_t i2 = 0; i2 < p->k_n2; ++i2) {
                const int8_t *row = input + i0 * p->k_s0 + i1 * p->k_s1 + i2 * p->k_s2;
                if (contiguous) {
                    const int32_t run = p->r_n3;
                    for (int32_t i3 = 0; i3 < p->k_n3; ++i3) {
                        const int8_t *src = row + i3 * p->k_s3;
                        int32_t sum = 0;
                        for (int32_t j = 0; j < run; ++j) {
                            sum += src[j];
                        }
                        *out++ = te_mean_output(p, &q, sum);
                    }
                    continue;
                }
                for (int32_t i3 = 0; i3 < p->k_n3; i3 += block) {
                    const int32_t n = TE_MIN(block, p->k_n3 - i3);
                    int32_t sum[4] = {0, 0, 0, 0};
                    te_mean_sums(p, row + i3 * p->k_s3, n, p->k_s3, sum);
                    for (int32_t k = 0; k < n; ++k) {
                        *out++ = te_mean_output(p, &q, sum[k]);
                    }
                }
            }
        }
    }
}
