/* ARG_MAX and ARG_MIN of an int8 tensor along one axis: the index of the first largest / smallest value (a
 * later equal value does not replace it), as TFLite's reference kernels compute it, written as int32 or int64.
 * The compiler views the input as [outer, axis_size, inner]; the output is [outer, inner]. */
#ifndef TE_ARGMINMAX_H
#define TE_ARGMINMAX_H

#include <stdint.h>

typedef struct {
    int32_t outer, axis_size, inner;
} te_arg_min_max_params;

/* The arena is addressed as int8_t: the output buffer holds int32 (_s32) or int64 (_s64) values. */
void te_arg_max_s8_s32(const te_arg_min_max_params *p, const int8_t *input, int8_t *output);
void te_arg_max_s8_s64(const te_arg_min_max_params *p, const int8_t *input, int8_t *output);
void te_arg_min_s8_s32(const te_arg_min_max_params *p, const int8_t *input, int8_t *output);
void te_arg_min_s8_s64(const te_arg_min_max_params *p, const int8_t *input, int8_t *output);

#endif /* TE_ARGMINMAX_H */
