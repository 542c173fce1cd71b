/* SVDF; see te_svdf.h. */
#include "te_svdf.h"

#include <stddef.h>

#include "te_common.h"

void te_svdf_s8_s16(const te_svdf_params *p, const int8_t *input, const int8_t *weights_feature,
                    const int16_t *weights_time, const int32_t *bias, int8_t *output, int16_t *state) {
    const int32_t units = p->filters / p->rank;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->input_size;
        int16_t *batch_state = state + b * p->filters * p->memory;
        /* shift each filter's memory left and append this step's feature */
        for (int32_t f = 0; f < p->filters; ++f) {
            int16_t *mem = batch_state + f * p->memory;
            const int8_t *w = weights_feature + f * p->input_size;
            int32_t acc = 0;
            for (int32_t m = 1; m < p->memory; ++m) {
                mem[m - 1] = mem[m];
            }
            for (int32_t c = 0; c < p->input_size; ++c) {
                acc += (int32_t)w[c] * ((int32_t)in[c] + p->input_offset);
            }
            acc = te_multiply_by_quantized_multiplier(acc, p->feature_mult, p->feature_shift);
            mem[p->memory - 1] = (int16_t)te_clamp(acc, INT16_MIN, INT16_MAX);
        }
        /* each unit: bias + its rank filters' memory . weights_time */
        for (int32_t u = 0; u < units; ++u) {
            int32_t acc = bias != NULL ? bias[u] : 0;
            for (int32_t r = 0; r < p->rank; ++r) {
                const int32_t f = u * p->rank + r;
                const int16_t *mem = batch_state + f * p->memory;
                const int16_t *w = weights_time + f * p->memory;
                for (int32_t m = 0; m < p->memory; ++m) {
                    acc += (int32_t)w[m] * (int32_t)mem[m];
                }
            }
            acc = te_multiply_by_quantized_multiplier(acc, p->time_mult, p->time_shift) + p->output_offset;
            output[b * units + u] = (int8_t)te_clamp(acc, -128, 127);
        }
    }
}
