/* DEPTHWISE_CONV_2D kernels (normal and MCUNet in-place); see te_depthwise.h. */
#include "te_depthwise.h"

#include "te_common.h"
#include "te_dsp.h"

/* --- DEPTHWISE_CONV_2D ----------------------------------------------------------------------------------- */

static int32_t te_dw_padded_width(const te_dw_params *p) {
    return (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
}

/* int16 values per gathered row: one more than the padded width (a tap pair may reach one past it), even. */
static int32_t te_dw_row_len(const te_dw_params *p) {
    return (te_dw_padded_width(p) + 2) & ~1;
}

static int32_t te_dw_work_bytes(const te_dw_params *p) {
    return 2 * p->k_h * ((p->k_w + 1) & ~1) + 2 * p->k_h * te_dw_row_len(p);
}

int32_t te_depthwise_conv_s8_get_buffer_size(const te_dw_params *p) {
    return te_dw_work_bytes(p);
}

/* Row iy of input channel ic into dst (len values): the raw values, and the input zero point outside the
 * input (the bias has the zero point folded in, so padded taps contribute nothing, as in TFLite). */
static void te_dw_gather_row(const te_dw_params *p, const int8_t *input, int32_t ic, int32_t iy, int16_t *dst,
                             int32_t len) {
    const int16_t zp = (int16_t)(-p->input_offset);
    int32_t j = 0;
    if (iy >= 0 && iy < p->in_h) {
        const int32_t step = p->in_c;
        const int8_t *src = input + iy * p->in_w * step + ic;
        const int32_t lo = TE_MIN(p->pad_left, len);
        const int32_t hi = TE_MIN(p->pad_left + p->in_w, len);
        for (; j < lo; ++j) {
            dst[j] = zp;
        }
        src += (j - p->pad_left) * step;
        for (; j + 2 <= hi; j += 2, src += 2 * step) {
            dst[j] = src[0];
            dst[j + 1] = src[step];
        }
        if (j < hi) {
            dst[j++] = src[0];
        }
    }
    for (; j < len; ++j) {
        dst[j] = zp;
    }
}

/* acc + x . w over `pairs` pairs of int16 values (SMLAD on the DSP path). */
TE_ALWAYS_INLINE int32_t te_dot_pairs_s16(const int16_t *x, const int16_t *w, int32_t pairs, int32_t acc) {
    for (int32_t j = 0; j < pairs; ++j, x += 2, w += 2) {
#if TE_DSP
        acc = te_smlad(te_load_u32(x), te_load_u32(w), acc);
#else
        acc += x[0] * w[0] + x[1] * w[1];
#endif
    }
    return acc;
}

#define TE_DW_MAX_K 7  /* the largest unrolled kernel */

/* Output channel oc, all pixels, written to dst[pixel * dst_step]. K is 0 (any kernel) or the size of a square
 * kernel with dilation 1, a constant at each call site so the tap loops unroll and the taps stay in registers. */
TE_ALWAYS_INLINE void te_dw_channel(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                    int32_t bias, int32_t mult, int32_t shift, int32_t oc, int8_t *dst,
                                    int32_t dst_step, int8_t *work, const int32_t K) {
    const int32_t k_h = K ? K : p->k_h, k_w = K ? K : p->k_w;
    const int32_t kw2 = (k_w + 1) & ~1, len = te_dw_row_len(p);
    const int32_t ic = oc / p->depth_mult, sw = p->stride_w, dil_w = K ? 1 : p->dil_w;
    const te_quant_ch q = te_quant_channel(mult, shift);
    /* locals: the int8 stores below may alias *p as far as the compiler knows */
    const int32_t out_w = p->out_w, off = p->output_offset, lo = p->act_min, hi = p->act_max;
    int16_t *taps = (int16_t *)(void *)work;
    int16_t *rows = taps + k_h * kw2;
    const int8_t *f = filter + oc * k_h * k_w;
    for (int32_t ky = 0; ky < k_h; ++ky) {
        for (int32_t kx = 0; kx < k_w; ++kx) {
            taps[ky * kw2 + kx] = f[ky * k_w + kx];
        }
        if (k_w < kw2) {
            taps[ky * kw2 + k_w] = 0;
        }
    }
#if TE_DSP
    uint32_t tw[TE_DW_MAX_K * ((TE_DW_MAX_K + 1) / 2)];  /* the taps as SMLAD operands, out of the pixel loop */
    for (int32_t t = 0; t < (K ? K * ((K + 1) / 2) : 0); ++t) {
        tw[t] = te_load_u32(taps + 2 * t);
    }
#endif
    /* With dilation 1, input row iy lives in slot (iy + pad_top) mod k_h and stays valid while it is in the
     * window; rows are gathered in order, so the slot of the next row (next_slot) is kept by counting. */
    const int ring = K || p->dil_h == 1;
    int32_t next_row = -p->pad_top, next_slot = 0;  /* first input row not yet gathered (ring mode), its slot */
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t first = 0;
        if (ring) {
            if (next_row < iy0) {  /* a stride larger than the kernel skips rows */
                next_slot = (next_slot + iy0 - next_row) % k_h;
                next_row = iy0;
            }
            for (; next_row < iy0 + k_h; ++next_row) {
                te_dw_gather_row(p, input, ic, next_row, rows + next_slot * len, len);
                next_slot = next_slot + 1 == k_h ? 0 : next_slot + 1;
            }
            first = next_slot;  /* the slot of row iy0 + k_h, which is row iy0's */
        } else {
            for (int32_t ky = 0; ky < k_h; ++ky) {
                te_dw_gather_row(p, input, ic, iy0 + ky * p->dil_h, rows + ky * len, len);
            }
        }
        int8_t *out = dst + oy * out_w * dst_step;
        if (K) {
            const int16_t *r[TE_DW_MAX_K];
            int32_t slot = first;
            TE_UNROLL
            for (int32_t ky = 0; ky < K; ++ky) {
                r[ky] = rows + slot * len;
                slot = slot + 1 == K ? 0 : slot + 1;
            }
            for (int32_t ox = 0; ox < out_w; ++ox, out += dst_step) {
                int32_t acc = bias;
                TE_UNROLL
                for (int32_t ky = 0; ky < K; ++ky) {
                    const int16_t *x = r[ky] + ox * sw;
#if TE_DSP
                    TE_UNROLL
                    for (int32_t j = 0; j < (K + 1) / 2; ++j) {
                        acc = te_smlad(te_load_u32(x + 2 * j), tw[ky * ((K + 1) / 2) + j], acc);
                    }
#else
                    acc = te_dot_pairs_s16(x, taps + ky * kw2, kw2 / 2, acc);
#endif
                }
                *out = te_quant_output(&q, acc, off, lo, hi);
            }
        } else {
            for (int32_t ox = 0; ox < out_w; ++ox, out += dst_step) {
                int32_t acc = bias;
                int32_t slot = first;
                for (int32_t ky = 0; ky < k_h; ++ky) {
                    const int16_t *x = rows + slot * len + ox * sw, *w = taps + ky * kw2;
                    if (dil_w == 1) {
                        acc = te_dot_pairs_s16(x, w, kw2 / 2, acc);
                    } else {
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            acc += x[kx * dil_w] * w[kx];
                        }
                    }
                    slot = ring && slot + 1 == k_h ? 0 : slot + 1;
                }
                *out = te_quant_output(&q, acc, off, lo, hi);
            }
        }
    }
}

TE_ALWAYS_INLINE void te_dw_all(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                int8_t *scratch, const int32_t K) {
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        te_dw_channel(p, input, filter, bias[oc], mult[oc], shift[oc], oc, output + oc, p->out_c, scratch, K);
    }
}

/* The output plane, rounded up to keep the int16 buffers aligned, then the depthwise buffers. */
static int32_t te_dw_plane_bytes(const te_dw_params *p) {
    return (p->out_h * p->out_w + 3) & ~3;
}

int32_t te_depthwise_conv_s8_inplace_get_buffer_size(const te_dw_params *p) {
    return te_dw_plane_bytes(p) + te_dw_work_bytes(p);
}

TE_ALWAYS_INLINE void te_dw_all_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                        const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                        int8_t *output, int8_t *scratch, const int32_t K) {
    const int32_t pixels = p->out_h * p->out_w, channels = p->out_c;
    int8_t *work = scratch + te_dw_plane_bytes(p);
    /* Each input row of a channel is gathered once, in order, before the output rows that read it. The output
     * row oy covers input rows <= oy of its channel (out_w <= in_w), and by then the rows up to
     * oy * stride_h - pad_top + k_h - 1 >= oy have been gathered (pad_top < k_h): the outputs can go straight
     * over the input. Otherwise a channel goes through the plane. */
    if ((K || p->dil_h == 1) && p->pad_top < (K ? K : p->k_h) && p->out_w <= p->in_w) {
        te_dw_all(p, input, filter, bias, mult, shift, output, work, K);
        return;
    }
    for (int32_t c = 0; c < channels; ++c) {
        te_dw_channel(p, input, filter, bias[c], mult[c], shift[c], c, scratch, 1, work, K);
        int8_t *out = output + c;
        for (int32_t k = 0; k < pixels; ++k, out += channels) {
            *out = scratch[k];
        }
    }
}

/* The depthwise entry points: any kernel (K 0) and the square kernels 3, 5 and 7 unrolled, each with its
 * _get_buffer_size (the variants need what their generic kernel needs). */
#define TE_DW_ENTRY(name, driver, K, size)                                                                    \
    void name(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,           \
              const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {                    \
        driver(p, input, filter, bias, mult, shift, output, scratch, K);                                       \
    }                                                                                                          \
    int32_t name##_get_buffer_size(const te_dw_params *p) {                                                    \
        return size(p);                                                                                        \
    }

TE_DW_ENTRY(te_depthwise_conv_s8_k3, te_dw_all, 3, te_depthwise_conv_s8_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_k5, te_dw_all, 5, te_depthwise_conv_s8_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_k7, te_dw_all, 7, te_depthwise_conv_s8_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_inplace_k3, te_dw_all_inplace, 3, te_depthwise_conv_s8_inplace_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_inplace_k5, te_dw_all_inplace, 5, te_depthwise_conv_s8_inplace_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_inplace_k7, te_dw_all_inplace, 7, te_depthwise_conv_s8_inplace_get_buffer_size)

void te_depthwise_conv_s8(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    te_dw_all(p, input, filter, bias, mult, shift, output, scratch, 0);
}

void te_depthwise_conv_s8_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  int8_t *scratch) {
    te_dw_all_inplace(p, input, filter, bias, mult, shift, output, scratch, 0);
}
