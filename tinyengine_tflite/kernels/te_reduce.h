/* REDUCE_MAX and REDUCE_MIN over any axes of an int8 tensor: the raw extreme value of each output's reduced
 * elements, as TFLite's reference kernels compute it (no requantization). The compiler merges the input's
 * dimensions as for MEAN (te_pool.h): up to four kept ones (with their input strides, in output order) and
 * up to four reduced ones. (SUM runs te_mean_s8 with the sum's rescaling.) */
#ifndef TE_REDUCE_H
#define TE_REDUCE_H

#include <stdint.h>

typedef struct {
    int32_t k_n0, k_n1, k_n2, k_n3;     /* kept dimensions, outermost first (1 when unused) */
    int32_t k_s0, k_s1, k_s2, k_s3;     /* their input strides (elements) */
    int32_t r_n0, r_n1, r_n2, r_n3;     /* reduced dimensions (1 when unused) */
    int32_t r_s0, r_s1, r_s2, r_s3;     /* their input strides */
} te_reduce_params;

void te_reduce_max_s8(const te_reduce_params *p, const int8_t *input, int8_t *output);
void te_reduce_min_s8(const te_reduce_params *p, const int8_t *input, int8_t *output);

#endif /* TE_REDUCE_H */
