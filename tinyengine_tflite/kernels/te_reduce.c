/* REDUCE_MAX and REDUCE_MIN; see te_reduce.h. */
#include "te_reduce.h"

/* The largest (sign 1) or, negated back, the smallest (sign -1) reduced element that starts at base. */
static int8_t te_reduce_extreme(const te_reduce_params *p, const int8_t *base, int32_t sign) {
    int32_t best = -128 * 2;
    for (int32_t j0 = 0; j0 < p->r_n0; ++j0) {
        for (int32_t j1 = 0; j1 < p->r_n1; ++j1) {
            for (int32_t j2 = 0; j2 < p->r_n2; ++j2) {
                const int8_t *row = base + j0 * p->r_s0 + j1 * p->r_s1 + j2 * p->r_s2;
                for (int32_t j3 = 0; j3 < p->r_n3; ++j3) {
                    const int32_t v = sign * row[j3 * p->r_s3];
                    best = v > best ? v : best;
                }
            }
        }
    }
    return (int8_t)(sign * best);
}

static void te_reduce_s8(const te_reduce_params *p, const int8_t *input, int8_t *output, int32_t sign) {
    int8_t *out = output;
    for (int32_t i0 = 0; i0 < p->k_n0; ++i0) {
        for (int32_t i1 = 0; i1 < p->k_n1; ++i1) {
            for (int32_t i2 = 0; i2 < p->k_n2; ++i2) {
                for (int32_t i3 = 0; i3 < p->k_n3; ++i3) {
                    *out++ = te_reduce_extreme(p, input + i0 * p->k_s0 + i1 * p->k_s1 + i2 * p->k_s2 + i3 * p->k_s3,
                                               sign);
                }
            }
        }
    }
}

void te_reduce_max_s8(const te_reduce_params *p, const int8_t *input, int8_t *output) {
    te_reduce_s8(p, input, output, 1);
}

void te_reduce_min_s8(const te_reduce_params *p, const int8_t *input, int8_t *output) {
    te_reduce_s8(p, input, output, -1);
}
