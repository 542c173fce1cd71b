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

/* AffineQuantize of one value, clamped to [lo, hi]. */
static int32_t te_quantize_value(float v, float scale, int32_t zero_point, int32_t lo, int32_t hi) {
    const float r = te_roundf(v / scale);
    if (r != r) {
        return zero_point;           /* NaN: undefined in TFLite; the zero point here */
    }
    if (r >= 2147483520.0f) {
        return hi;                   /* saturate before the int conversion overflows */
    }
    if (r <= -2147483520.0f) {
        return lo;
    }
    return te_clamp((int32_t)r + zero_point, lo, hi);
}

static float te_dequantize_value(int32_t q, float scale, int32_t zero_point) {
    return (float)((double)scale * (double)(q - zero_point));
}

void te_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (int8_t)te_quantize_value(input[i], scale, zero_point, -128, 127);
    }
}

void te_quantize_f32_u8(const float *input, int32_t size, float scale, int32_t zero_point, uint8_t *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (uint8_t)te_quantize_value(input[i], scale, zero_point, 0, 255);
    }
}

void te_quantize_f32_s16(const float *input, int32_t size, float scale, int32_t zero_point, int16_t *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (int16_t)te_quantize_value(input[i], scale, zero_point, -32768, 32767);
    }
}

void te_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = te_dequantize_value(input[i], scale, zero_point);
    }
}

void te_dequantize_u8_f32(const uint8_t *input, int32_t size, float scale, int32_t zero_point, float *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = te_dequantize_value(input[i], scale, zero_point);
    }
}

void te_dequantize_s16_f32(const int16_t *input, int32_t size, float scale, int32_t zero_point, float *output) {
    for (int32_t i = 0; i < size; ++i) {
        output[i] = te_dequantize_value(input[i], scale, zero_point);
    }
}
