/* See te_io.h. */
#include "te_io.h"

#include "te_common.h"

void te_requantize_s8(const te_requant_params *p, const int8_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = te_requantize((int32_t)input[i] + p->input_offset, p->mult, p->shift, p->output_offset, -128, 127);
    }
}

/* roundf without libm: halves away from zero; |v| >= 2^23 is already integral. */
static float te_roundf(float v) {
    if (v >= 8388608.0f || v <= -8388608.0f) {
        return v;
    }
    const float t = (float)(int32_t)v;
    const float frac = v - t;
    if (frac >= 0.5f) {
        return t + 1.0f;
    }
    if (frac <= -0.5f) {
        return t - 1.0f;
    }
    return t;
}

void te_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output) {
    for (int32_t i = 0; i < size; ++i) {
        const float r = te_roundf(input[i] / scale);
        int32_t q;
        if (r != r) {
            q = zero_point;              /* NaN: undefined in TFLite; the zero point here */
        } else if (r >= 2147483520.0f) {
            q = 127;                     /* saturate before the int conversion overflows */
        } else if (r <= -2147483520.0f) {
            q = -128;
        } else {
            q = te_clamp((int32_t)r + zero_point, -128, 127);
        }
        output[i] = (int8_t)q;
    }
}

void te_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (float)((double)scale * (double)((int32_t)input[i] - zero_point));
    }
}
