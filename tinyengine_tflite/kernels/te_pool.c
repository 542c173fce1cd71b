/* Pooling and reduction kernels; see te_pool.h. */
#include "te_pool.h"

#include "te_common.h"

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

void te_avg_pool_s8(const te_pool_params *p, const int8_t *input, int8_t *output) {
    const int32_t channels = p->channels;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int32_t y0, y1, x0, x1;
            te_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
            const int32_t count = (y1 - y0) * (x1 - x0);  /* >= 1: the compiler checks every window */
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            for (int32_t c0 = 0; c0 < channels; c0 += TE_POOL_BLOCK) {
                const int32_t n = TE_MIN(TE_POOL_BLOCK, channels - c0);
                int32_t acc[TE_POOL_BLOCK];
                for (int32_t k = 0; k < n; ++k) {
                    acc[k] = 0;
                }
                for (int32_t y = y0; y < y1; ++y) {
                    for (int32_t x = x0; x < x1; ++x) {
                        const int8_t *src = input + (y * p->in_w + x) * channels + c0;
                        for (int32_t k = 0; k < n; ++k) {
                            acc[k] += src[k];
                        }
                    }
                }
                for (int32_t k = 0; k < n; ++k) {
                    /* Divide, rounding halves away from zero (C division truncates toward zero). */
                    const int32_t a = acc[k];
                    const int32_t avg = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
                    out[c0 + k] = (int8_t)te_clamp(avg, p->act_min, p->act_max);
                }
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

/* Sum of the reduced elements that start at base. */
static int32_t te_mean_sum(const te_mean_params *p, const int8_t *base) {
    int32_t sum = 0;
    for (int32_t j0 = 0; j0 < p->r_n0; ++j0) {
        for (int32_t j1 = 0; j1 < p->r_n1; ++j1) {
            for (int32_t j2 = 0; j2 < p->r_n2; ++j2) {
                const int8_t *row = base + j0 * p->r_s0 + j1 * p->r_s1 + j2 * p->r_s2;
                if (p->r_s3 == 1) {
                    for (int32_t j3 = 0; j3 < p->r_n3; ++j3) {
                        sum += row[j3];
                    }
                } else {
                    for (int32_t j3 = 0; j3 < p->r_n3; ++j3) {
                        sum += row[j3 * p->r_s3];
                    }
                }
            }
        }
    }
    return sum;
}

void te_mean_s8(const te_mean_params *p, const int8_t *input, int8_t *output) {
    int8_t *out = output;
    for (int32_t i0 = 0; i0 < p->k_n0; ++i0) {
        for (int32_t i1 = 0; i1 < p->k_n1; ++i1) {
            for (int32_t i2 = 0; i2 < p->k_n2; ++i2) {
                for (int32_t i3 = 0; i3 < p->k_n3; ++i3) {
                    const int8_t *base = input + i0 * p->k_s0 + i1 * p->k_s1 + i2 * p->k_s2 + i3 * p->k_s3;
                    const int32_t sum = te_mean_sum(p, base) + p->sum_offset;
                    const int32_t v = te_multiply_by_quantized_multiplier(sum, p->mult, p->shift) + p->output_zp;
                    *out++ = (int8_t)te_clamp(v, INT8_MIN, INT8_MAX);
                }
            }
        }
    }
}
