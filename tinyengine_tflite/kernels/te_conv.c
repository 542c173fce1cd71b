/* Convolution-family kernels; see te_conv.h. */
#include "te_conv.h"

#include <stddef.h>

#include "te_common.h"
#include "te_dsp.h"

static inline int32_t te_pad4(int32_t n) {
    return (n + 3) & ~3;
}

/* --- CONV_2D and FULLY_CONNECTED: pixels by pair-packed channels ------------------------------------------- */

typedef struct {
    int32_t a00, a01, a10, a11;  /* pixel 0 / 1 by channel 0 / 1 of a pair */
} te_acc2x2;

/* acc += two pixels' depth-long int8 vectors (x0, x1) times one packed channel pair (w). The DSP path
 * sign-extends four int8 values into two registers of int16 pairs (SXTB16 on bytes 0/2 and 1/3): the same
 * byte order for inputs and weights, so SMLAD multiplies matching elements. */
TE_ALWAYS_INLINE void te_mac_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w, int32_t depth,
                                 te_acc2x2 *acc) {
    int32_t a00 = acc->a00, a01 = acc->a01, a10 = acc->a10, a11 = acc->a11;
#if TE_DSP
    for (int32_t blocks = depth >> 2; blocks > 0; --blocks) {
        const uint32_t xa = te_load_u32(x0), xb = te_load_u32(x1);
        const uint32_t xa0 = te_sxtb16(xa), xa1 = te_sxtb16_hi(xa);
        const uint32_t xb0 = te_sxtb16(xb), xb1 = te_sxtb16_hi(xb);
        uint32_t wv = te_load_u32(w);
        uint32_t w0 = te_sxtb16(wv), w1 = te_sxtb16_hi(wv);
        a00 = te_smlad(xa1, w1, te_smlad(xa0, w0, a00));
        a10 = te_smlad(xb1, w1, te_smlad(xb0, w0, a10));
        wv = te_load_u32(w + 4);
        w0 = te_sxtb16(wv);
        w1 = te_sxtb16_hi(wv);
        a01 = te_smlad(xa1, w1, te_smlad(xa0, w0, a01));
        a11 = te_smlad(xb1, w1, te_smlad(xb0, w0, a11));
        x0 += 4;
        x1 += 4;
        w += 8;
    }
#else
    for (int32_t blocks = depth >> 2; blocks > 0; --blocks, x0 += 4, x1 += 4, w += 8) {
        const int32_t p0 = x0[0], p1 = x0[1], p2 = x0[2], p3 = x0[3];
        const int32_t q0 = x1[0], q1 = x1[1], q2 = x1[2], q3 = x1[3];
        const int32_t f0 = w[0], f1 = w[1], f2 = w[2], f3 = w[3], g0 = w[4], g1 = w[5], g2 = w[6], g3 = w[7];
        a00 += p0 * f0 + p1 * f1 + p2 * f2 + p3 * f3;
        a01 += p0 * g0 + p1 * g1 + p2 * g2 + p3 * g3;
        a10 += q0 * f0 + q1 * f1 + q2 * f2 + q3 * f3;
        a11 += q0 * g0 + q1 * g1 + q2 * g2 + q3 * g3;
    }
#endif
    for (int32_t k = 0; k < (depth & 3); ++k) {
        const int32_t p = x0[k], q = x1[k], f = w[k], g = w[4 + k];
        a00 += p * f;
        a01 += p * g;
        a10 += q * f;
        a11 += q * g;
    }
    acc->a00 = a00;
    acc->a01 = a01;
    acc->a10 = a10;
    acc->a11 = a11;
}

/* The one-pixel form of te_mac_2x2 (a last odd pixel, a single fully-connected row): acc->a00 / a01. */
TE_ALWAYS_INLINE void te_mac_1x2(const int8_t *x0, const int8_t *w, int32_t depth, te_acc2x2 *acc) {
    int32_t a00 = acc->a00, a01 = acc->a01;
    for (int32_t blocks = depth >> 2; blocks > 0; --blocks) {
#if TE_DSP
        const uint32_t xa = te_load_u32(x0);
        const uint32_t xa0 = te_sxtb16(xa), xa1 = te_sxtb16_hi(xa);
        const uint32_t wa = te_load_u32(w), wb = te_load_u32(w + 4);
        a00 = te_smlad(xa1, te_sxtb16_hi(wa), te_smlad(xa0, te_sxtb16(wa), a00));
        a01 = te_smlad(xa1, te_sxtb16_hi(wb), te_smlad(xa0, te_sxtb16(wb), a01));
#else
        for (int32_t k = 0; k < 4; ++k) {
            a00 += x0[k] * w[k];
            a01 += x0[k] * w[4 + k];
        }
#endif
        x0 += 4;
        w += 8;
    }
    for (int32_t k = 0; k < (depth & 3); ++k) {
        a00 += x0[k] * w[k];
        a01 += x0[k] * w[4 + k];
    }
    acc->a00 = a00;
    acc->a01 = a01;
}

typedef struct {
    const int32_t *bias, *mult, *shift;
    int32_t output_offset, act_min, act_max;
    int32_t per_channel, double_rounding;   /* fully connected only (convolutions: per channel, twice) */
} te_requant;

TE_ALWAYS_INLINE int8_t te_requant_one(const te_requant *q, int32_t acc, int32_t ch, const int fc) {
    if (!fc) {
        const te_quant_ch qc = te_quant_channel(q->mult[ch], q->shift[ch]);
        return te_quant_output(&qc, acc, q->output_offset, q->act_min, q->act_max);
    }
    const int32_t k = q->per_channel ? ch : 0;
    const int32_t scaled = q->double_rounding ? te_multiply_by_quantized_multiplier(acc, q->mult[k], q->shift[k])
                                              : te_multiply_by_quantized_multiplier_single(acc, q->mult[k],
                                                                                           q->shift[k]);
    return (int8_t)te_clamp(scaled + q->output_offset, q->act_min, q->act_max);
}

/* All output channels of one or two pixels: x0 (x1 NULL for one) hold depth int8 values each, w the
 * pair-packed weights; writes out0[c] (and out1[c]). fc selects the fully-connected requantization. */
TE_ALWAYS_INLINE void te_gemm_pixels(const int8_t *x0, const int8_t *x1, int32_t depth, int32_t channels,
                                     const int8_t *w, const te_requant *q, const int fc, int8_t *out0,
                                     int8_t *out1) {
    const int32_t pair_bytes = 2 * te_pad4(depth);
    for (int32_t oc = 0; oc < channels; oc += 2, w += pair_bytes) {
        const int two = oc + 1 < channels;
        const int32_t b0 = q->bias[oc], b1 = two ? q->bias[oc + 1] : 0;
        te_acc2x2 acc = {b0, b1, b0, b1};
        if (x1 != NULL) {
            te_mac_2x2(x0, x1, w, depth, &acc);
            out1[oc] = te_requant_one(q, acc.a10, oc, fc);
            if (two) {
                out1[oc + 1] = te_requant_one(q, acc.a11, oc + 1, fc);
            }
        } else {
            te_mac_1x2(x0, w, depth, &acc);
        }
        out0[oc] = te_requant_one(q, acc.a00, oc, fc);
        if (two) {
            out0[oc + 1] = te_requant_one(q, acc.a01, oc + 1, fc);
        }
    }
}

static te_requant te_conv_requant(const te_conv_params *p, const int32_t *bias, const int32_t *mult,
                                  const int32_t *shift) {
    const te_requant q = {bias, mult, shift, p->output_offset, p->act_min, p->act_max, 1, 1};
    return q;
}

/* Channel pairs outside, pixels inside: the pair's requantization parameters are set up once. C4 is 1 when
 * in_c is a multiple of 4 and out_c even (a constant at each call site: no depth tail, no odd channel). */
TE_ALWAYS_INLINE void te_conv_1x1(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  const int C4) {
    const int32_t pixels = p->out_h * p->out_w, depth = C4 ? p->in_c & ~3 : p->in_c, out_c = p->out_c;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *w = filter;
    for (int32_t oc = 0; oc < out_c; oc += 2, w += 2 * te_pad4(depth)) {
        const int two = C4 || oc + 1 < out_c;
        const te_quant_ch q0 = te_quant_channel(mult[oc], shift[oc]);
        const te_quant_ch q1 = te_quant_channel(mult[oc + two], shift[oc + two]);
        const int32_t b0 = bias[oc], b1 = two ? bias[oc + 1] : 0;
        const int8_t *x = input;
        int8_t *out = output + oc;
        int32_t px = 0;
        for (; px + 2 <= pixels; px += 2, x += 2 * depth, out += 2 * out_c) {
            te_acc2x2 acc = {b0, b1, b0, b1};
            te_mac_2x2(x, x + depth, w, depth, &acc);
            out[0] = te_quant_output(&q0, acc.a00, off, lo, hi);
            out[out_c] = te_quant_output(&q0, acc.a10, off, lo, hi);
            if (two) {
                out[1] = te_quant_output(&q1, acc.a01, off, lo, hi);
                out[out_c + 1] = te_quant_output(&q1, acc.a11, off, lo, hi);
            }
        }
        if (px < pixels) {
            te_acc2x2 acc = {b0, b1, b0, b1};
            te_mac_1x2(x, w, depth, &acc);
            out[0] = te_quant_output(&q0, acc.a00, off, lo, hi);
            if (two) {
                out[1] = te_quant_output(&q1, acc.a01, off, lo, hi);
            }
        }
    }
}

void te_conv2d_1x1_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output) {
    te_conv_1x1(p, input, filter, bias, mult, shift, output, 0);
}

void te_conv2d_1x1_s8_c4(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, int8_t *output) {
    te_conv_1x1(p, input, filter, bias, mult, shift, output, 1);
}

int32_t te_conv2d_s8_get_buffer_size(const te_conv_params *p) {
    return 2 * te_pad4(p->k_h * p->k_w * p->in_c);
}

/* Gather the receptive field of output pixel px into col (depth values), padding with the input zero point. */
static void te_im2col(const te_conv_params *p, const int8_t *input, int32_t px, int8_t *col) {
    const int32_t iy0 = (px / p->out_w) * p->stride_h - p->pad_top;
    const int32_t ix0 = (px % p->out_w) * p->stride_w - p->pad_left;
    const int8_t pad = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < p->in_c; ++c) {
                    *col++ = pad;
                }
            } else {
                const int8_t *src = input + (iy * p->in_w + ix) * p->in_c;
                for (int32_t c = 0; c < p->in_c; ++c) {
                    *col++ = src[c];
                }
            }
        }
    }
}

void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    const te_requant q = te_conv_requant(p, bias, mult, shift);
    const int32_t depth = p->k_h * p->k_w * p->in_c, pixels = p->out_h * p->out_w;
    /* the columns' padding to a multiple of 4 meets zero weights: zero it once, multiply whole blocks */
    const int32_t depth4 = te_pad4(depth);
    int8_t *col0 = scratch, *col1 = scratch + depth4;
    for (int32_t k = depth; k < depth4; ++k) {
        col0[k] = col1[k] = 0;
    }
    int32_t px = 0;
    for (; px + 2 <= pixels; px += 2) {
        te_im2col(p, input, px, col0);
        te_im2col(p, input, px + 1, col1);
        int8_t *out = output + px * p->out_c;
        te_gemm_pixels(col0, col1, depth4, p->out_c, filter, &q, 0, out, out + p->out_c);
    }
    if (px < pixels) {
        te_im2col(p, input, px, col0);
        te_gemm_pixels(col0, NULL, depth4, p->out_c, filter, &q, 0, output + px * p->out_c, NULL);
    }
}

int32_t te_conv2d_s8_q15_get_buffer_size(const te_conv_params *p) {
    return 4 * te_pad4(p->k_h * p->k_w * p->in_c);
}

#if TE_DSP
/* Im2col of output pixel px straight into SMLAD operands, in_c a multiple of 4: depth block b (4 values) goes
 * to col[4 * b + lane] (bytes 0 and 2) and col[4 * b + lane + 1] (bytes 1 and 3); lane 0 for the first pixel
 * of a pair, 2 for the second. Padding is the zero point. */
static void te_im2col_q15(const te_conv_params *p, const int8_t *input, int32_t px, uint32_t *col, int32_t lane) {
    const int32_t iy0 = (px / p->out_w) * p->stride_h - p->pad_top;
    const int32_t ix0 = (px % p->out_w) * p->stride_w - p->pad_left;
    const uint32_t pad = te_sxtb16((uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u);
    const int32_t in_c = p->in_c;
    col += lane;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < in_c; c += 4, col += 4) {
                    col[0] = col[1] = pad;
                }
            } else {
                const int8_t *src = input + (iy * p->in_w + ix) * in_c;
                for (int32_t c = 0; c < in_c; c += 4, col += 4) {
                    const uint32_t v = te_load_u32(src + c);
                    col[0] = te_sxtb16(v);
                    col[1] = te_sxtb16_hi(v);
                }
            }
        }
    }
}
#endif

void te_conv2d_s8_q15(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
#if TE_DSP
    const int32_t blocks = p->k_h * p->k_w * p->in_c / 4, pixels = p->out_h * p->out_w, out_c = p->out_c;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    uint32_t *col = (uint32_t *)(void *)scratch;
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two_px = px + 1 < pixels;
        te_im2col_q15(p, input, px, col, 0);
        te_im2col_q15(p, input, two_px ? px + 1 : px, col, 2);
        int8_t *out = output + px * out_c;
        const int8_t *w = filter;
        for (int32_t oc = 0; oc < out_c; oc += 2) {
            const int two = oc + 1 < out_c;
            const int32_t b0 = bias[oc], b1 = two ? bias[oc + 1] : 0;
            int32_t a00 = b0, a01 = b1, a10 = b0, a11 = b1;
            const uint32_t *v = col;
            for (int32_t b = blocks; b > 0; --b, v += 4, w += 8) {
                const uint32_t wa = te_load_u32(w), wb = te_load_u32(w + 4);
                const uint32_t wa0 = te_sxtb16(wa), wa1 = te_sxtb16_hi(wa);
                a00 = te_smlad(v[1], wa1, te_smlad(v[0], wa0, a00));
                a10 = te_smlad(v[3], wa1, te_smlad(v[2], wa0, a10));
                const uint32_t wb0 = te_sxtb16(wb), wb1 = te_sxtb16_hi(wb);
                a01 = te_smlad(v[1], wb1, te_smlad(v[0], wb0, a01));
                a11 = te_smlad(v[3], wb1, te_smlad(v[2], wb0, a11));
            }
            const te_quant_ch q0 = te_quant_channel(mult[oc], shift[oc]);
            out[oc] = te_quant_output(&q0, a00, off, lo, hi);
            if (two_px) {
                out[out_c + oc] = te_quant_output(&q0, a10, off, lo, hi);
            }
            if (two) {
                const te_quant_ch q1 = te_quant_channel(mult[oc + 1], shift[oc + 1]);
                out[oc + 1] = te_quant_output(&q1, a01, off, lo, hi);
                if (two_px) {
                    out[out_c + oc + 1] = te_quant_output(&q1, a11, off, lo, hi);
                }
            }
        }
    }
#else
    te_conv2d_s8(p, input, filter, bias, mult, shift, output, scratch);
#endif
}

void te_fully_connected_s8(const te_fc_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *output) {
    const te_requant q = {bias, mult, shift, p->output_offset, p->act_min, p->act_max, p->per_channel,
                          p->double_rounding};
    const int32_t depth = p->in_depth, n = p->out_depth;
    int32_t b = 0;
    for (; b + 2 <= p->batches; b += 2) {
        te_gemm_pixels(input + b * depth, input + (b + 1) * depth, depth, n, weights, &q, 1, output + b * n,
                       output + (b + 1) * n);
    }
    if (b < p->batches) {
        te_gemm_pixels(input + b * depth, NULL, depth, n, weights, &q, 1, output + b * n, NULL);
    }
}

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
