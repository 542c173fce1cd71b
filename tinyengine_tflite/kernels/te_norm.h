/* Normalization kernels: int8 L2_NORMALIZATION over the last dimension, bit-exact with TFLite's reference
 * integer kernel (reference_integer_ops::L2Normalization: the row's sum of squares, its inverse square root
 * as a fixed-point multiplier (GetInvSqrtQuantizedMultiplierExp), output scale 1/128, zero point 0).
 *
 * May run in place (output == input): a row is read whole for its sum before any of it is written, and then
 * element i is read before output i is written. */
#ifndef TE_NORM_H
#define TE_NORM_H

#include <stdint.h>

typedef struct {
    int32_t outer;            /* number of rows */
    int32_t depth;            /* values per row (the last dimension) */
    int32_t input_offset;     /* -input zero point */
} te_l2norm_params;

void te_l2norm_s8(const te_l2norm_params *p, const int8_t *input, int8_t *output);

#endif /* TE_NORM_H */
