/* See te_dot.h. */
#include "te_dot.h"

void te_dot_2x2_s8(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, int32_t n,
                   int32_t acc[4]) {
    int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
    const int32_t m = n & ~15;
    for (int32_t k = 0; k < m; ++k) {
        const int32_t a = x0[k], b = x1[k], f = w0[k], g = w1[k];
        s00 += a * f;
        s01 += a * g;
        s10 += b * f;
        s11 += b * g;
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}
