/* RESIZE_BILINEAR; see te_resize.h. */
#include "te_resize.h"

/* Round half away from zero, then divide by 2^20 (truncating). |sum| < 2^30: the fractions lie in
 * (-1024, 1024], the weights of one axis add up to 1024. */
static int8_t te_round_20(int32_t sum) {
    return (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
}

void te_resize_bilinear_s8(const te_resize_params *p, const int8_t *input, const int32_t *y_map,
                           const int32_t *x_map, int8_t *output) {
    const int32_t channels = p->channels;
    const int32_t row_len = p->in_w * channels;
    int8_t *out = output;
    for (int32_t y = 0; y < p->out_h; ++y) {
        const int8_t *row0 = input + y_map[3 * y] * row_len;
        const int8_t *row1 = input + y_map[3 * y + 1] * row_len;
        const int32_t wy1 = y_map[3 * y + 2];
        const int32_t wy0 = (1 << 10) - wy1;
        for (int32_t x = 0; x < p->out_w; ++x) {
            const int32_t c0 = x_map[3 * x] * channels;
            const int32_t c1 = x_map[3 * x + 1] * channels;
            const int32_t wx1 = x_map[3 * x + 2];
            const int32_t wx0 = (1 << 10) - wx1;
            for (int32_t c = 0; c < channels; ++c) {
                const int32_t sum = row0[c0 + c] * wy0 * wx0 + row1[c0 + c] * wy1 * wx0 +
                                    row0[c1 + c] * wy0 * wx1 + row1[c1 + c] * wy1 * wx1;
                *out++ = te_round_20(sum);
            }
        }
    }
}
