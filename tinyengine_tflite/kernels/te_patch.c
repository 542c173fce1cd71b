#include "te_patch.h"

void te_copy_rows(const te_copy_rows_params *p, const int8_t *input, int8_t *output) {
    const int8_t *src = input + p->src_offset;
    int8_t *dst = output + p->dst_offset;
    for (int32_t r = 0; r < p->rows; ++r, src += p->src_stride, dst += p->dst_stride) {
        for (int32_t k = 0; k < p->row_bytes; ++k) {
            dst[k] = src[k];
        }
    }
}
