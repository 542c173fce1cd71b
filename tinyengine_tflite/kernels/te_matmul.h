/* BATCH_MATMUL of int8 tensors: output[b][m][n] = requantize(sum_k (lhs[b][m][k] - lhs_zp) * (rhs[b][k][n] - rhs_zp))
 * with one per-tensor multiplier (lhs_scale * rhs_scale / output_scale), as TFLite's reference kernels compute
 * it. The compiler writes the operands' strides: adj_x / adj_y transpositions and broadcast batch dimensions
 * (stride 0) need no copy. */
#ifndef TE_MATMUL_H
#define TE_MATMUL_H

#include <stdint.h>

typedef struct {
    int32_t b0, b1, b2;                   /* output batch dimensions (leading unused ones are 1) */
    int32_t lhs_b0, lhs_b1, lhs_b2;       /* lhs element stride per batch index (0 where broadcast) */
    int32_t rhs_b0, rhs_b1, rhs_b2;
    int32_t rows, cols, depth;            /* M, N, K */
    int32_t lhs_row, lhs_depth;           /* lhs element stride per m and per k (adj_x swaps them) */
    int32_t rhs_depth, rhs_col;           /* rhs element stride per k and per n (adj_y swaps them) */
    int32_t lhs_offset, rhs_offset;       /* minus the operands' zero points */
    int32_t output_offset;                /* the output zero point */
    int32_t multiplier, shift;            /* TFLite's MultiplyByQuantizedMultiplier (rounding twice) */
} te_batch_matmul_params;

void te_batch_matmul_s8(const te_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);

#endif /* TE_MATMUL_H */
