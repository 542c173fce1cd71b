/* GATHER; see te_space.h. */
#include "te_space.h"

void te_gather_s8(const te_gather_params *p, const int8_t *input, const int32_t *index, int8_t *output) {
    const int32_t inner = p->inner;
    int8_t *out = output;
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *block = input + o * p->axis_size * inner;
        for (int32_t k = 0; k < p->count; ++k) {
            const int8_t *row = block + index[k] * inner;
            for (int32_t i = 0; i < inner; ++i) {
                out[i] = row[i];
            }
            out += inner;
        }
    }
}
