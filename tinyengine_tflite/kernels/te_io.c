/* See te_io.h. */
#include "te_io.h"

#include "te_common.h"

static inline int32_t te_requant_value(const te_requant_params *p, int32_t x) {
    return te_multiply_by_quantized_multiplier(x + p->input_offset, p->mult, p->shift) + p->output_offset;
}

void te_requantize_s8(const te_requant_params *p, const int8_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)te_clamp(te_requant_value(p, input[i]), -128, 127);
    }
}

void te_requantize_u8_s8(const te_requant_params *p, const int8_t *input, int8_t *output) {
    const uint8_t *in = (const uint8_t *)input;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)te_clamp(te_requant_value(p, in[i]), -128, 127);
    }
}

void te_requantize_s8_u8(const te_requant_params *p, const int8_t *input, int8_t *output) {
    uint8_t *out = (uint8_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (uint8_t)te_clamp(te_requant_value(p, input[i]), 0, 255);
    }
}

/* The int16 buffers are 4-byte aligned (the planner's alignment), so they may be read as int16_t. */
void te_requantize_s16_s8(const te_requant_params *p, const int8_t *input, int8_t *output) {
    const int16_t *in = (const int16_t *)(const void *)input;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)te_clamp(te_requant_value(p, in[i]), -128, 127);
    }
}

void te_requantize_s8_s16(const te_requant_params *p, const int8_t *input, int8_t *output) {
    int16_t *out = (int16_t *)(void *)output;
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (int16_t)te_clamp(te_requant_value(p, input[i]), -32768, 32767);
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
