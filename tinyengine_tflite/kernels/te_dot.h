/* Inner products shared by the kernels (internal to the library). */
#ifndef TE_DOT_H
#define TE_DOT_H

#include <stdint.h>

/* acc = {x0.w0, x0.w1, x1.w0, x1.w1} over the first n & ~15 elements. It lives in its own translation unit:
 * not inlined into a caller's loops, its loop (a trip count that is a multiple of 16) is one compilers
 * vectorize even at -O2. */
void te_dot_2x2_s8(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, int32_t n,
                   int32_t acc[4]);

#endif /* TE_DOT_H */
