/* Data-movement kernels; see te_shape.h. */
#include "te_shape.h"

static void te_copy_s8(int8_t *dst, const int8_t *src, int32_t n) {
    for (int32_t k = 0; k < n; ++k) {
        dst[k] = src[k];
    }
}

static void te_fill_s8(int8_t *dst, int8_t value, int32_t n) {
    for (int32_t k = 0; k < n; ++k) {
        dst[k] = value;
    }
}

void te_pad_s8(const te_pad_params *p, const int8_t *input, int8_t *output) {
    const int8_t value = (int8_t)p->pad_value;
    const int32_t right4 = p->out4 - p->left4 - p->in4;
    int8_t *out = output;
    for (int32_t o0 = 0; o0 < p->out0; ++o0) {
        const int32_t i0 = o0 - p->left0;
        for (int32_t o1 = 0; o1 < p->out1; ++o1) {
            const int32_t i1 = o1 - p->left1;
            for (int32_t o2 = 0; o2 < p->out2; ++o2) {
                const int32_t i2 = o2 - p->left2;
                for (int32_t o3 = 0; o3 < p->out3; ++o3) {
                    const int32_t i3 = o3 - p->left3;
                    const int inside = i0 >= 0 && i0 < p->in0 && i1 >= 0 && i1 < p->in1 && i2 >= 0 && i2 < p->in2 &&
                                       i3 >= 0 && i3 < p->in3;
                    if (!inside) {
                        te_fill_s8(out, value, p->out4);
                    } else {
                        const int8_t *row = input + (((i0 * p->in1 + i1) * p->in2 + i2) * p->in3 + i3) * p->in4;
                        te_fill_s8(out, value, p->left4);
                        te_copy_s8(out + p->left4, row, p->in4);
                        te_fill_s8(out + p->left4 + p->in4, value, right4);
                    }
                    out += p->out4;
                }
            }
        }
    }
}

void te_strided_copy_s8(const te_strided_copy_params *p, const int8_t *input, int8_t *output) {
    int8_t *out = output;
    input += p->offset;
    for (int32_t i0 = 0; i0 < p->n0; ++i0) {
        for (int32_t i1 = 0; i1 < p->n1; ++i1) {
            for (int32_t i2 = 0; i2 < p->n2; ++i2) {
                for (int32_t i3 = 0; i3 < p->n3; ++i3) {
                    for (int32_t i4 = 0; i4 < p->n4; ++i4) {
                        const int8_t *src = input + i0 * p->s0 + i1 * p->s1 + i2 * p->s2 + i3 * p->s3 + i4 * p->s4;
                        if (p->s5 == 1) {
                            te_copy_s8(out, src, p->n5);
                        } else {
                            for (int32_t i5 = 0; i5 < p->n5; ++i5) {
                                out[i5] = src[i5 * p->s5];
                            }
                        }
                        out += p->n5;
                    }
                }
            }
        }
    }
}

void te_concat_s8(const te_concat_params *p, const int8_t *const inputs[], const int32_t *rows, const int32_t *src,
                  const int8_t *blob, int8_t *output) {
    int8_t *out = output;
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->count; ++k) {
            const int8_t *base = src[k] >= 0 ? inputs[src[k]] : blob + (-1 - src[k]);
            te_copy_s8(out, base + o * rows[k], rows[k]);
            out += rows[k];
        }
    }
}

void te_resize_nearest_s8(const te_resize_params *p, const int8_t *input, const int32_t *y_map,
                          const int32_t *x_map, int8_t *output) {
    const int32_t channels = p->channels;
    int8_t *out = output;
    for (int32_t y = 0; y < p->out_h; ++y) {
        const int8_t *row = input + y_map[y] * p->in_w * channels;
        for (int32_t x = 0; x < p->out_w; ++x) {
            te_copy_s8(out, row + x_map[x] * channels, channels);
            out += channels;
        }
    }
}

void te_axis_map_copy_s8(const te_axis_map_params *p, const int8_t *input, const int32_t *map, int8_t *output) {
    const int32_t *m0 = map, *m1 = m0 + p->n0, *m2 = m1 + p->n1, *m3 = m2 + p->n2, *m4 = m3 + p->n3;
    const int32_t inner = p->inner;
    int8_t *out = output;
    for (int32_t i0 = 0; i0 < p->n0; ++i0) {
        for (int32_t i1 = 0; i1 < p->n1; ++i1) {
            for (int32_t i2 = 0; i2 < p->n2; ++i2) {
                const int8_t *base = input + m0[i0] + m1[i1] + m2[i2];
                for (int32_t i3 = 0; i3 < p->n3; ++i3) {
                    for (int32_t i4 = 0; i4 < p->n4; ++i4) {
                        te_copy_s8(out, base + m3[i3] + m4[i4], inner);
                        out += inner;
                    }
                }
            }
        }
    }
}
