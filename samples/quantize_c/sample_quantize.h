/* Float -> int8 quantization of model inputs, exactly as TFLite's AffineQuantize does it:
 * q = round_half_away_from_zero(x / scale) + zero_point (float32 division), clamped to [-128, 127].
 * NaN maps to the zero point. C99, header only, no allocation. Twin of samples/quantize.py. */
#ifndef SAMPLE_QUANTIZE_H
#define SAMPLE_QUANTIZE_H

#include <stdint.h>

static inline int8_t sample_quantize_int8(float x, float scale, int32_t zero_point) {
    float v = x / scale;
    int32_t t;
    float frac;
    int32_t q;
    if (v != v) { /* NaN */
        v = 0.0f;
    }
    if (v > 65536.0f) {
        v = 65536.0f;
    } else if (v < -65536.0f) {
        v = -65536.0f;
    }
    t = (int32_t)v; /* truncates toward zero */
    frac = v - (float)t;
    if (frac >= 0.5f) {
        t += 1;
    } else if (frac <= -0.5f) {
        t -= 1;
    }
    q = t + zero_point;
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

#endif /* SAMPLE_QUANTIZE_H */
