/* TRANSPOSE_CONV; see te_transpose_conv.h. */
#include "te_transpose_conv.h"

#include "te_common.h"

/* The first tap t >= 0 with (o + pad - t) divisible by stride, so that input index (o + pad - t) / stride is an
 * integer; later taps step by stride. */
static int32_t te_first_tap(int32_t o_pad, int32_t stride) {
    return o_pad % stride;
}

void te_transpose_conv_s8(const te_transpose_conv_params *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output) {
    const int32_t in_c = p->in_c;
    const int32_t tap_len = p->k_w * in_c;
    int8_t *out = output;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t oy_pad = oy + p->pad_top;   /* >= 0 */
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t ox_pad = ox + p->pad_left;
            for (int32_t oc = 0; oc < p->out_c; ++oc) {
                const int8_t *f_oc = filter + oc * p->k_h * tap_len;
                int32_t acc = bias[oc];
                for (int32_t ky = te_first_tap(oy_pad, p->stride_h); ky < p->k_h; ky += p->stride_h) {
                    const int32_t iy = (oy_pad - ky) / p->stride_h;
                    if (iy < 0) {
                        break;
                    }
                    if (iy >= p->in_h) {
                        continue;
                    }
                    for (int32_t kx = te_first_tap(ox_pad, p->stride_w); kx < p->k_w; kx += p->stride_w) {
                        const int32_t ix = (ox_pad - kx) / p->stride_w;
                        if (ix < 0) {
                            break;
                        }
                        if (ix >= p->in_w) {
                            continue;
                        }
                        const int8_t *in = input + (iy * p->in_w + ix) * in_c;
                        const int8_t *f = f_oc + ky * tap_len + kx * in_c;
                        for (int32_t c = 0; c < in_c; ++c) {
                            acc += (in[c] + p->input_offset) * f[c];
                        }
                    }
                }
                *out++ = te_requantize(acc, mult[oc], shift[oc], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}
