/* BATCH_MATMUL; see te_matmul.h. */
#include "te_matmul.h"
#include "te_common.h"

/* One M x N output matrix from the lhs and rhs matrices at these addresses. */
static void te_matmul_one(const te_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *out) {
    for (int32_t m = 0; m < p->rows; ++m) {
        const int8_t *row = lhs + m * p->lhs_row;
        for (int32_t n = 0; n < p->cols; ++n) {
            const int8_t *col = rhs + n * p->rhs_col;
            int32_t acc = 0;
            for (int32_t k = 0; k < p->depth; ++k) {
                acc += ((int32_t)row[k * p->lhs_depth] + p->lhs_offset) *
                       ((int32_t)col[k * p->rhs_depth] + p->rhs_offset);
            }
            *out++ = te_requantize(acc, p->multiplier, p->shift, p->output_offset, -128, 127);
        }
    }
}

void te_batch_matmul_s8(const te_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output) {
    const int32_t size = p->rows * p->cols;
    int8_t *out = output;
    for (int32_t i0 = 0; i0 < p->b0; ++i0) {
        for (int32_t i1 = 0; i1 < p->b1; ++i1) {
            for (int32_t i2 = 0; i2 < p->b2; ++i2) {
                te_matmul_one(p, lhs + i0 * p->lhs_b0 + i1 * p->lhs_b1 + i2 * p->lhs_b2,
                              rhs + i0 * p->rhs_b0 + i1 * p->rhs_b1 + i2 * p->rhs_b2, out);
                out += size;
            }
        }
    }
}
