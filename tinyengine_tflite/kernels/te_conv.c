/* Convolution-family kernels; see te_conv.h. */
#include "te_conv.h"

#include <stddef.h>

#include "te_common.h"
#include "te_dot.h"

/* Dot product of two int8 vectors, accumulated in int32 (four partial sums so compilers can pipeline it). */
static int32_t te_dot_s8(const int8_t *a, const int8_t *b, int32_t n) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += (int32_t)a[k] * b[k];
        s1 += (int32_t)a[k + 1] * b[k + 1];
        s2 += (int32_t)a[k + 2] * b[k + 2];
        s3 += (int32_t)a[k + 3] * b[k + 3];
    }
    for (; k < n; ++k) {
        s0 += (int32_t)a[k] * b[k];
    }
    return s0 + s1 + s2 + s3;
}

int32_t te_conv2d_s8_scratch_bytes(const te_conv_params *p) {
    const int pointwise = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->pad_top == 0 && p->pad_left == 0 && p->out_h == p->in_h && p->out_w == p->in_w;
    return pointwise ? 0 : 2 * p->k_h * p->k_w * p->in_c;
}

/* Gather the receptive field of output pixel (oy, ox) into col, padding with the input zero point. */
static void te_im2col(const te_conv_params *p, const int8_t *input, int32_t oy, int32_t ox, int8_t *col) {
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            int8_t *dst = col + (ky * p->k_w + kx) * p->in_c;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < p->in_c; ++c) {
                    dst[c] = (int8_t)p->input_zp;
                }
            } else {
                const int8_t *src = input + (iy * p->in_w + ix) * p->in_c;
                for (int32_t c = 0; c < p->in_c; ++c) {
                    dst[c] = src[c];
                }
            }
        }
    }
}

/* Output channels of two pixels (col0, col1: their depth-long input vectors; out1 may be NULL for a last odd
 * pixel). Two pixels by two channels at a time: four multiply-accumulates per four loads. */
static void te_conv_pixels(const te_conv_params *p, const int8_t *col0, const int8_t *col1, int32_t depth,
                           const int8_t *filter, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                           int8_t *out0, int8_t *out1) {
    int32_t oc = 0;
    const int8_t *c1 = out1 ? col1 : col0;
    for (; oc + 2 <= p->out_c; oc += 2) {
        const int8_t *w0 = filter + oc * depth;
        const int8_t *w1 = w0 + depth;
        int32_t acc[4];
        te_dot_2x2_s8(col0, c1, w0, w1, depth & ~15, acc);
        int32_t a00 = bias[oc] + acc[0], a01 = bias[oc + 1] + acc[1];
        int32_t a10 = bias[oc] + acc[2], a11 = bias[oc + 1] + acc[3];
        for (int32_t k = depth & ~15; k < depth; ++k) {
            const int32_t x0 = col0[k], x1 = c1[k], f0 = w0[k], f1 = w1[k];
            a00 += x0 * f0;
            a01 += x0 * f1;
            a10 += x1 * f0;
            a11 += x1 * f1;
        }
        out0[oc] = te_requantize(a00, mult[oc], shift[oc], p->output_offset, p->act_min, p->act_max);
        out0[oc + 1] = te_requantize(a01, mult[oc + 1], shift[oc + 1], p->output_offset, p->act_min, p->act_max);
        if (out1) {
            out1[oc] = te_requantize(a10, mult[oc], shift[oc], p->output_offset, p->act_min, p->act_max);
            out1[oc + 1] = te_requantize(a11, mult[oc + 1], shift[oc + 1], p->output_offset, p->act_min,
                                         p->act_max);
        }
    }
    for (; oc < p->out_c; ++oc) {
        const int8_t *w = filter + oc * depth;
        out0[oc] = te_requantize(bias[oc] + te_dot_s8(col0, w, depth), mult[oc], shift[oc], p->output_offset,
                                 p->act_min, p->act_max);
        if (out1) {
            out1[oc] = te_requantize(bias[oc] + te_dot_s8(col1, w, depth), mult[oc], shift[oc], p->output_offset,
                                     p->act_min, p->act_max);
        }
    }
}

void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    const int32_t depth = p->k_h * p->k_w * p->in_c;
    const int32_t pixels = p->out_h * p->out_w;
    if (te_conv2d_s8_scratch_bytes(p) == 0) {
        /* 1x1, stride 1, no padding: each pixel's input vector is already contiguous. */
        for (int32_t px = 0; px < pixels; px += 2) {
            const int two = px + 1 < pixels;
            te_conv_pixels(p, input + px * depth, two ? input + (px + 1) * depth : NULL, depth, filter, bias, mult,
                           shift, output + px * p->out_c, two ? output + (px + 1) * p->out_c : NULL);
        }
        return;
    }
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        te_im2col(p, input, px / p->out_w, px % p->out_w, scratch);
        if (two) {
            te_im2col(p, input, (px + 1) / p->out_w, (px + 1) % p->out_w, scratch + depth);
        }
        te_conv_pixels(p, scratch, two ? scratch + depth : NULL, depth, filter, bias, mult, shift,
                       output + px * p->out_c, two ? output + (px + 1) * p->out_c : NULL);
    }
}

/* Depthwise convolution works one channel at a time: the channel's input rows are gathered into an int16 ring
 * of k_h rows with the input offset added and the padding as zeros (so padded taps contribute nothing, as in
 * TFLite), and its taps into an int16 array. Each output pixel then reads contiguous memory, a row is gathered
 * once per channel when dilation is 1, and the taps of a kernel row are unrolled.
 * Scratch: the taps (k_h * k_w int16, rounded up to 4 bytes), then k_h rows of the padded width (int16). */
static int32_t te_dw_padded_width(const te_dw_params *p) {
    return (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
}

static int32_t te_dw_work_bytes(const te_dw_params *p) {
    return ((2 * p->k_h * p->k_w + 3) & ~3) + 2 * p->k_h * te_dw_padded_width(p);
}

int32_t te_depthwise_conv_s8_scratch_bytes(const te_dw_params *p) {
    return te_dw_work_bytes(p);
}

/* Row iy of input channel ic into dst (padded width wp), offset added, zeros outside the input. */
static void te_dw_gather_row(const te_dw_params *p, const int8_t *input, int32_t ic, int32_t iy, int16_t *dst,
                             int32_t wp) {
    int32_t j = 0;
    if (iy >= 0 && iy < p->in_h) {
        const int8_t *src = input + iy * p->in_w * p->in_c + ic;
        const int32_t lo = TE_MIN(p->pad_left, wp);
        const int32_t hi = TE_MIN(p->pad_left + p->in_w, wp);
        for (; j < lo; ++j) {
            dst[j] = 0;
        }
        for (src += (j - p->pad_left) * p->in_c; j < hi; ++j, src += p->in_c) {
            dst[j] = (int16_t)(*src + p->input_offset);
        }
    }
    for (; j < wp; ++j) {
        dst[j] = 0;
    }
}

typedef struct {
    const int16_t *rows;     /* ring of k_h gathered rows, wp apart */
    const int16_t *taps;     /* k_h * k_w */
    int32_t wp, k_h, stride_w, dil_w;
} te_dw_rowset;

/* x . w over k contiguous taps, unrolled up to 7 (the searched kernel sizes are 3, 5 and 7). */
static inline int32_t te_dot_taps_s16(const int16_t *x, const int16_t *w, int32_t k) {
    int32_t acc = 0;
    switch (k) {
        case 7: acc += x[6] * w[6]; /* fall through */
        case 6: acc += x[5] * w[5]; /* fall through */
        case 5: acc += x[4] * w[4]; /* fall through */
        case 4: acc += x[3] * w[3]; /* fall through */
        case 3: acc += x[2] * w[2]; /* fall through */
        case 2: acc += x[1] * w[1]; /* fall through */
        case 1: acc += x[0] * w[0]; break;
        default:
            for (int32_t kx = 0; kx < k; ++kx) {
                acc += x[kx] * w[kx];
            }
    }
    return acc;
}

/* Sum of the taps of output column ox; kernel row ky is in ring slot (first + ky) % k_h. */
static int32_t te_dw_tap_sum(const te_dw_rowset *r, int32_t k_w, int32_t ox, int32_t first) {
    int32_t acc = 0;
    int32_t slot = first;
    const int16_t *w = r->taps;
    for (int32_t ky = 0; ky < r->k_h; ++ky, w += k_w) {
        const int16_t *x = r->rows + slot * r->wp + ox * r->stride_w;
        if (r->dil_w == 1) {
            acc += te_dot_taps_s16(x, w, k_w);
        } else {
            for (int32_t kx = 0; kx < k_w; ++kx) {
                acc += x[kx * r->dil_w] * w[kx];
            }
        }
        if (++slot == r->k_h) {
            slot = 0;
        }
    }
    return acc;
}

/* Output channel oc, all pixels, written to dst[pixel * dst_step]. */
static void te_dw_channel(const te_dw_params *p, const int8_t *input, const int8_t *filter, int32_t bias,
                          int32_t mult, int32_t shift, int32_t oc, int8_t *dst, int32_t dst_step, int8_t *work) {
    const int32_t wp = te_dw_padded_width(p);
    const int32_t ic = oc / p->depth_mult;
    const int32_t taps = p->k_h * p->k_w;
    int16_t *tap = (int16_t *)(void *)work;
    int16_t *rows = (int16_t *)(void *)(work + ((2 * taps + 3) & ~3));
    for (int32_t t = 0; t < taps; ++t) {
        tap[t] = filter[t * p->out_c + oc];
    }
    const te_dw_rowset r = {rows, tap, wp, p->k_h, p->stride_w, p->dil_w};
    /* With dilation 1, input row iy lives in slot iy mod k_h and stays valid while it is in the window. */
    const int ring = p->dil_h == 1;
    int32_t next_row = -p->pad_top;  /* first input row not yet gathered (ring mode) */
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t first = 0;
        if (ring) {
            int32_t from = TE_MAX(next_row, iy0);
            for (int32_t iy = from; iy < iy0 + p->k_h; ++iy) {
                te_dw_gather_row(p, input, ic, iy, rows + ((iy % p->k_h + p->k_h) % p->k_h) * wp, wp);
            }
            next_row = iy0 + p->k_h;
            first = (iy0 % p->k_h + p->k_h) % p->k_h;
        } else {
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                te_dw_gather_row(p, input, ic, iy0 + ky * p->dil_h, rows + ky * wp, wp);
            }
        }
        int8_t *out = dst + oy * p->out_w * dst_step;
        for (int32_t ox = 0; ox < p->out_w; ++ox, out += dst_step) {
            const int32_t acc = te_dw_tap_sum(&r, p->k_w, ox, first);
            *out = te_requantize(acc + bias, mult, shift, p->output_offset, p->act_min, p->act_max);
        }
    }
}

void te_depthwise_conv_s8(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        te_dw_channel(p, input, filter, bias[oc], mult[oc], shift[oc], oc, output + oc, p->out_c, scratch);
    }
}

/* The output plane, rounded up to keep the int16 rows aligned, then the rows. */
static int32_t te_dw_plane_bytes(const te_dw_params *p) {
    return (p->out_h * p->out_w + 3) & ~3;
}

int32_t te_depthwise_conv_s8_inplace_scratch_bytes(const te_dw_params *p) {
    return te_dw_plane_bytes(p) + te_dw_work_bytes(p);
}

void te_depthwise_conv_s8_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  int8_t *scratch) {
    const int32_t pixels = p->out_h * p->out_w;
    int8_t *work = scratch + te_dw_plane_bytes(p);
    for (int32_t c = 0; c < p->out_c; ++c) {
        te_dw_channel(p, input, filter, bias[c], mult[c], shift[c], c, scratch, 1, work);
        for (int32_t k = 0; k < pixels; ++k) {
            output[k * p->out_c + c] = scratch[k];
        }
    }
}

void te_fully_connected_s8(const te_fc_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->in_depth;
        int8_t *out = output + b * p->out_depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int32_t acc = bias[o] + te_dot_s8(in, weights + o * p->in_depth, p->in_depth);
            const int32_t k = p->per_channel ? o : 0;
            const int32_t scaled = p->double_rounding ? te_multiply_by_quantized_multiplier(acc, mult[k], shift[k])
                                                      : te_multiply_by_quantized_multiplier_single(acc, mult[k],
                                                                                                   shift[k]);
            const int32_t v = scaled + p->output_offset;
            out[o] = (int8_t)te_clamp(v, p->act_min, p->act_max);
        }
    }
}
