/* SVDF with int8 input, weights_feature and output, int16 weights_time and int16 state (TFLite's integer
 * SVDF, as LiteRT's reference kernel and TFLM compute it). The state, [batches][filters][memory], lives outside
 * the arena and carries from one invoke to the next: each invoke shifts every filter's memory one step left,
 * writes the new feature (input . weights_feature, requantized to int16) at the end, then each unit's output is
 * its bias plus the rank filters' (state . weights_time), requantized to int8. The fused activation is not
 * applied (neither reference applies it to the integer SVDF). */
#ifndef TE_SVDF_H
#define TE_SVDF_H

#include <stdint.h>

typedef struct {
    int32_t batches, input_size, filters, memory, rank;   /* units = filters / rank */
    int32_t input_offset;                                 /* -input zero point */
    int32_t feature_mult, feature_shift;                  /* input * weights_feature -> state */
    int32_t time_mult, time_shift;                        /* state * weights_time -> output */
    int32_t output_offset;
} te_svdf_params;

/* bias: int32 per unit, or NULL (zero). */
void te_svdf_s8_s16(const te_svdf_params *p, const int8_t *input, const int8_t *weights_feature,
                    const int16_t *weights_time, const int32_t *bias, int8_t *output, int16_t *state);

#endif /* TE_SVDF_H */
