/* RESIZE_BILINEAR over int8 NHWC tensors (batch 1), as TFLite's integer kernel computes it: each source
 * coordinate in 10-bit fixed point, the four neighbours weighted in 20-bit fixed point, rounded to the
 * nearest (ties away from zero). The compiler computes the per-row and per-column
 * neighbours and fractions, so the kernel holds no scale arithmetic. (RESIZE_NEAREST_NEIGHBOR: te_shape.h.) */
#ifndef TE_RESIZE_H
#define TE_RESIZE_H

#include <stdint.h>

#include "te_shape.h"

/* y_map holds (y0, y1, fy) per output row and x_map (x0, x1, fx) per output column, where fy and fx are the
 * fractions in 1/1024 (fy weighs row y1, 1024 - fy row y0). */
void te_resize_bilinear_s8(const te_resize_params *p, const int8_t *input, const int32_t *y_map,
                           const int32_t *x_map, int8_t *output);

#endif /* TE_RESIZE_H */
