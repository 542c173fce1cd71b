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
    const int32_t *bias;
    te_per_channel_quant_params quant;
    int32_t output_offset, act_min, act_max;
    int32_t per_channel, double_rounding;   /* fully connected only (convolutions: per channel, twice) */
} te_requant;

TE_ALWAYS_INLINE int8_t te_requant_one(const te_requant *q, int32_t acc, int32_t ch, const int fc) {
    if (!fc) {
        const te_quant_ch qc = te_quant_channel(q->quant.multiplier[ch], q->quant.shift[ch]);
        return te_quant_output(&qc, acc, q->output_offset, q->act_min, q->act_max);
    }
    const int32_t k = q->per_channel ? ch : 0;
    const int32_t m = q->quant.multiplier[k], s = q->quant.shift[k];
    const int32_t scaled = q->double_rounding ? te_multiply_by_quantized_multiplier(acc, m, s)
                                              : te_multiply_by_quantized_multiplier_single(acc, m, s);
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
    const te_requant q = {bias, {mult, shift}, p->output_offset, p->activation.min, p->activation.max, 1, 1};
    return q;
}

/* Channel pairs outside, pixels inside: the pair's requantization parameters are set up once. C4 is 1 when
 * in_c is a multiple of 4 and out_c even (a constant at each call site: no depth tail, no odd channel). */
TE_ALWAYS_INLINE void te_conv_1x1(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  const int C4) {
    const int32_t pixels = p->output.h * p->output.w, out_c = p->output.c;
    const int32_t depth = C4 ? p->input.c & ~3 : p->input.c;
    const int32_t off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
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
    return 2 * te_pad4(p->kernel.h * p->kernel.w * p->input.c);
}

/* Gather the receptive field of output pixel px into col (depth values), padding with the input zero point. */
static void te_im2col(const te_conv_params *p, const int8_t *input, int32_t px, int8_t *col) {
    const int32_t iy0 = (px / p->output.w) * p->stride.h - p->padding.h;
    const int32_t ix0 = (px % p->output.w) * p->stride.w - p->padding.w;
    const int8_t pad = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < p->kernel.h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation.h;
        for (int32_t kx = 0; kx < p->kernel.w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation.w;
            if (iy < 0 || iy >= p->input.h || ix < 0 || ix >= p->input.w) {
                for (int32_t c = 0; c < p->input.c; ++c) {
                    *col++ = pad;
                }
            } else {
                const int8_t *src = input + (iy * p->input.w + ix) * p->input.c;
                for (int32_t c = 0; c < p->input.c; ++c) {
                    *col++ = src[c];
                }
            }
        }
    }
}

void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    const te_requant q = te_conv_requant(p, bias, mult, shift);
    const int32_t depth = p->kernel.h * p->kernel.w * p->input.c, pixels = p->output.h * p->output.w;
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
        int8_t *out = output + px * p->output.c;
        te_gemm_pixels(col0, col1, depth4, p->output.c, filter, &q, 0, out, out + p->output.c);
    }
    if (px < pixels) {
        te_im2col(p, input, px, col0);
        te_gemm_pixels(col0, NULL, depth4, p->output.c, filter, &q, 0, output + px * p->output.c, NULL);
    }
}

int32_t te_conv2d_s8_q15_get_buffer_size(const te_conv_params *p) {
    return 4 * te_pad4(p->kernel.h * p->kernel.w * p->input.c);
}

#if TE_DSP
/* Im2col of output pixel px straight into SMLAD operands, in_c a multiple of 4: depth block b (4 values) goes
 * to col[4 * b + lane] (bytes 0 and 2) and col[4 * b + lane + 1] (bytes 1 and 3); lane 0 for the first pixel
 * of a pair, 2 for the second. Padding is the zero point. */
static void te_im2col_q15(const te_conv_params *p, const int8_t *input, int32_t px, uint32_t *col, int32_t lane) {
    const int32_t iy0 = (px / p->output.w) * p->stride.h - p->padding.h;
    const int32_t ix0 = (px % p->output.w) * p->stride.w - p->padding.w;
    const uint32_t pad = te_sxtb16((uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u);
    const int32_t in_c = p->input.c;
    col += lane;
    for (int32_t ky = 0; ky < p->kernel.h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation.h;
        for (int32_t kx = 0; kx < p->kernel.w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation.w;
            if (iy < 0 || iy >= p->input.h || ix < 0 || ix >= p->input.w) {
                for (int32_t c = 0; c < in_c; c += 4, col += 4) {
                    col[0] = col[1] = pad;
                }
            } else {
                const int8_t *src = input + (iy * p->input.w + ix) * in_c;
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
    const int32_t blocks = p->kernel.h * p->kernel.w * p->input.c / 4, pixels = p->output.h * p->output.w;
    const int32_t out_c = p->output.c;
    const int32_t off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
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
    const te_requant q = {bias, {mult, shift}, p->output_offset, p->activation.min, p->activation.max,
                          p->per_channel, p->double_rounding};
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
