/* Patch-based inference (MCUNetV2): the copies around the patch stage. A patch reads its input window out of
 * the full input tensor, crops a sub-window of a tensor computed on a larger region, and writes its tile into
 * the full stage-output tensor; each is `rows` runs of `row_bytes` bytes between two row strides. */
#ifndef TE_PATCH_H
#define TE_PATCH_H

#include <stdint.h>

typedef struct {
    int32_t rows, row_bytes;          /* rows copied (0: nothing) and bytes per row */
    int32_t src_offset, src_stride;   /* bytes: the first row in input, and from one row to the next */
    int32_t dst_offset, dst_stride;   /* the same in output */
} te_copy_rows_params;

/* Copies front to back, so input and output may be one buffer when every destination byte lies at or before
 * its source byte (a crop in place). */
void te_copy_rows(const te_copy_rows_params *p, const int8_t *input, int8_t *output);

#endif /* TE_PATCH_H */
