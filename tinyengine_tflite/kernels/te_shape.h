/* Data-movement kernels over int8 tensors: PAD / PADV2, TRANSPOSE and STRIDED_SLICE (one strided copy),
 * CONCATENATION (and PACK of activations), RESIZE_NEAREST_NEIGHBOR, MIRROR_PAD (a copy through per-dimension
 * index maps). They copy bytes, so they are exact by
 * construction; the compiler merges dimensions so that the inner loops copy the longest contiguous runs.
 * (RESHAPE, SQUEEZE and EXPAND_DIMS need no kernel: their output aliases the input buffer.) */
#ifndef TE_SHAPE_H
#define TE_SHAPE_H

#include <stdint.h>

typedef struct {
    int32_t in0, in1, in2, in3, in4;       /* input shape (leading unused dimensions are 1) */
    int32_t out0, out1, out2, out3, out4;  /* output shape = input + left + right padding */
    int32_t left0, left1, left2, left3, left4;
    int32_t pad_value;
} te_pad_params;

void te_pad_s8(const te_pad_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t n0, n1, n2, n3, n4, n5;        /* output shape (leading unused dimensions are 1) */
    int32_t s0, s1, s2, s3, s4, s5;        /* input stride (elements, may be negative) of each output dimension */
    int32_t offset;                        /* input element of output element 0 */
} te_strided_copy_params;

/* output[i0..i5] = input[offset + i0 * s0 + ... + i5 * s5], output written in order: TRANSPOSE and
 * STRIDED_SLICE (the compiler derives the strides from the operator). */
void te_strided_copy_s8(const te_strided_copy_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t outer;        /* product of the dimensions before the concatenation axis */
    int32_t count;        /* number of operands */
} te_concat_params;

/* Operand k contributes rows[k] bytes per outer index, from inputs[src[k]] when src[k] >= 0, or from the
 * constant blob at offset -1 - src[k] (blob may be NULL when no operand is constant). */
void te_concat_s8(const te_concat_params *p, const int8_t *const inputs[], const int32_t *rows, const int32_t *src,
                  const int8_t *blob, int8_t *output);

typedef struct {
    int32_t in_w, channels;
    int32_t out_h, out_w;
} te_resize_params;

/* output[y][x] = input[y_map[y]][x_map[x]]: the compiler computes the source indices as TFLite does. */
void te_resize_nearest_s8(const te_resize_params *p, const int8_t *input, const int32_t *y_map,
                          const int32_t *x_map, int8_t *output);

typedef struct {
    int32_t n0, n1, n2, n3, n4;  /* output shape of the mapped dimension groups (leading unused ones are 1) */
    int32_t inner;               /* contiguous bytes copied per output position (the trailing unmapped group) */
} te_axis_map_params;

/* output[i0..i4][0:inner] = input[map0[i0] + map1[i1] + ... + map4[i4] + (0:inner)], where `map` holds
 * map0..map4 one after another: each dimension group's input offset (elements) per output index. MIRROR_PAD
 * (the compiler writes the reflection into the maps). */
void te_axis_map_copy_s8(const te_axis_map_params *p, const int8_t *input, const int32_t *map, int8_t *output);

#endif /* TE_SHAPE_H */
