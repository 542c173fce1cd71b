/* ARG_MAX and ARG_MIN; see te_argminmax.h. */
#include "te_argminmax.h"

/* The buffers are 4-byte aligned (the planner's alignment): an int64 index is written as two int32 words, the
 * low one first on a little-endian target (indices are non-negative and below 2^31: the high word is 0). */
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TE_LOW_WORD 1
#else
#define TE_LOW_WORD 0
#endif

/* The index of the first extreme value of each [outer, inner] line: sign 1 the largest, -1 the smallest;
 * words 1 (int32) or 2 (int64) per index. */
static void te_arg_extreme(const te_arg_min_max_params *p, const int8_t *input, int8_t *output, int32_t sign,
                           int32_t words) {
    int32_t *out = (int32_t *)(void *)output;
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *base = input + o * p->axis_size * p->inner;
        for (int32_t k = 0; k < p->inner; ++k) {
            int32_t best = sign * base[k], index = 0;
            for (int32_t i = 1; i < p->axis_size; ++i) {
                const int32_t v = sign * base[i * p->inner + k];
                if (v > best) {
                    best = v;
                    index = i;
                }
            }
            int32_t *slot = out + (o * p->inner + k) * words;
            if (words == 2) {
                slot[1 - TE_LOW_WORD] = 0;
            }
            slot[words == 2 ? TE_LOW_WORD : 0] = index;
        }
    }
}

void te_arg_max_s8_s32(const te_arg_min_max_params *p, const int8_t *input, int8_t *output) {
    te_arg_extreme(p, input, output, 1, 1);
}

void te_arg_max_s8_s64(const te_arg_min_max_params *p, const int8_t *input, int8_t *output) {
    te_arg_extreme(p, input, output, 1, 2);
}

void te_arg_min_s8_s32(const te_arg_min_max_params *p, const int8_t *input, int8_t *output) {
    te_arg_extreme(p, input, output, -1, 1);
}

void te_arg_min_s8_s64(const te_arg_min_max_params *p, const int8_t *input, int8_t *output) {
    te_arg_extreme(p, input, output, -1, 2);
}
