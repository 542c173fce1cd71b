/* Convolution-family kernels; see te_conv.h. */
#include "te_conv.h"

#include "te_common.h"

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
                          p->pad_top == 0 && p->pad_left == 0;
    return pointwise ? 0 : p->k_h * p->k_w * p->in_c;
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

void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    const int32_t depth = p->k_h * p->k_w * p->in_c;
    const int pointwise = te_conv2d_s8_scratch_bytes(p) == 0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int8_t *col;
            if (pointwise) {
                col = input + (oy * p->in_w + ox) * p->in_c;
            } else {
                te_im2col(p, input, oy, ox, scratch);
                col = scratch;
            }
            int8_t *out = output + (oy * p->out_w + ox) * p->out_c;
            const int8_t *w = filter;
            for (int32_t oc = 0; oc < p->out_c; ++oc, w += depth) {
                const int32_t acc = bias[oc] + te_dot_s8(col, w, depth);
                out[oc] = te_requantize(acc, mult[oc], shift[oc], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

/* One output value of channel oc at (oy, ox). */
static int8_t te_dw_point(const te_dw_params *p, const int8_t *input, const int8_t *filter, int32_t bias,
                          int32_t mult, int32_t shift, int32_t oc, int32_t oy, int32_t ox) {
    const int32_t ic = oc / p->depth_mult;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    int32_t acc = bias;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            continue;
        }
        const int8_t *row = input + iy * p->in_w * p->in_c + ic;
        const int8_t *w = filter + ky * p->k_w * p->out_c + oc;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) {
                continue;
            }
            acc += ((int32_t)row[ix * p->in_c] + p->input_offset) * w[kx * p->out_c];
        }
    }
    return te_requantize(acc, mult, shift, p->output_offset, p->act_min, p->act_max);
}

void te_depthwise_conv_s8(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, int8_t *output) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int8_t *out = output + (oy * p->out_w + ox) * p->out_c;
            for (int32_t oc = 0; oc < p->out_c; ++oc) {
                out[oc] = te_dw_point(p, input, filter, bias[oc], mult[oc], shift[oc], oc, oy, ox);
            }
        }
    }
}

int32_t te_depthwise_conv_s8_inplace_scratch_bytes(const te_dw_params *p) {
    return p->out_h * p->out_w;
}

void te_depthwise_conv_s8_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  int8_t *scratch) {
    const int32_t pixels = p->out_h * p->out_w;
    for (int32_t c = 0; c < p->out_c; ++c) {
        int8_t *tmp = scratch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                *tmp++ = te_dw_point(p, input, filter, bias[c], mult[c], shift[c], c, oy, ox);
            }
        }
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
            const int32_t v = te_multiply_by_quantized_multiplier_single(acc, mult[k], shift[k]) + p->output_offset;
            out[o] = (int8_t)te_clamp(v, p->act_min, p->act_max);
        }
    }
}
