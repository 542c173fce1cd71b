/* GATHER along one axis of an int8 tensor with compile-time indices (when they do not form a strided copy,
 * which te_strided_copy_s8 in te_shape.h does). DEPTH_TO_SPACE and SPACE_TO_DEPTH are strided copies. */
#ifndef TE_SPACE_H
#define TE_SPACE_H

#include <stdint.h>

typedef struct {
    int32_t outer;      /* product of the dimensions before the axis */
    int32_t axis_size;  /* the input's size along the axis */
    int32_t count;      /* number of indices: the output's size along the axis */
    int32_t inner;      /* product of the dimensions after the axis: bytes per row */
} te_gather_params;

/* output[o][k][:] = input[o][index[k]][:] (index[k] in [0, axis_size)). */
void te_gather_s8(const te_gather_params *p, const int8_t *input, const int32_t *index, int8_t *output);

#endif /* TE_SPACE_H */
