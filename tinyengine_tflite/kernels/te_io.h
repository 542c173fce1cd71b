/* Requantization (integer QUANTIZE: int8 -> int8, uint8 <-> int8, int16 <-> int8) and the float edges of a model (float -> int8 input,
 * int8 -> float output; the generated float helpers for int8, uint8 and int16 I/O), exactly as TFLite's
 * AffineQuantize and Dequantize compute them. */
#ifndef TE_IO_H
#define TE_IO_H

#include <stdint.h>

typedef struct {
    int32_t size;
    int32_t input_offset, output_offset;
    int32_t mult, shift;
} te_requant_params;

/* output = clamp(MultiplyByQuantizedMultiplier(input + input_offset, mult, shift) + output_offset) to the output
 * type. The arena is addressed as int8_t: the uint8 / int16 variants read or write their buffer as that type. */
void te_requantize_s8(const te_requant_params *p, const int8_t *input, int8_t *output);
void te_requantize_u8_s8(const te_requant_params *p, const int8_t *input, int8_t *output);
void te_requantize_s8_u8(const te_requant_params *p, const int8_t *input, int8_t *output);
void te_requantize_s16_s8(const te_requant_params *p, const int8_t *input, int8_t *output);
void te_requantize_s8_s16(const te_requant_params *p, const int8_t *input, int8_t *output);

/* q = clamp(round(x / scale) + zero_point) to the output type: float division, halves rounded away from zero. */
void te_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output);
void te_quantize_f32_u8(const float *input, int32_t size, float scale, int32_t zero_point, uint8_t *output);
void te_quantize_f32_s16(const float *input, int32_t size, float scale, int32_t zero_point, int16_t *output);
/* x = (float)((double)scale * (q - zero_point)). */
void te_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output);
void te_dequantize_u8_f32(const uint8_t *input, int32_t size, float scale, int32_t zero_point, float *output);
void te_dequantize_s16_f32(const int16_t *input, int32_t size, float scale, int32_t zero_point, float *output);

#endif /* TE_IO_H */
