/* DIV of int8 tensors as TFLite's quantized Div computes it: per element, (a - a_zp) times the fixed-point
 * reciprocal of (b - b_zp) (gemmlowp's Newton-Raphson GetReciprocal, which the compiler tabulates for the 256
 * divisor values), then MultiplyByQuantizedMultiplierSmallerThanOneExp with the output multiplier, including
 * its behaviour for shifts of 32 and more (where the quotient rounds to nothing) as the x86 references run it.
 * A divisor equal to its zero point yields what TFLM computes (LiteRT stops with an error). Broadcasting
 * through strides (0 along a broadcast dimension). */
#ifndef TE_DIV_H
#define TE_DIV_H

#include <stdint.h>

typedef struct {
    int32_t n0, n1, n2, n3, n4;        /* output shape (leading unused dimensions are 1) */
    int32_t a0, a1, a2, a3, a4;        /* dividend element stride per output dimension (0 where broadcast) */
    int32_t b0, b1, b2, b3, b4;        /* divisor element stride per output dimension */
    int32_t input1_offset;             /* minus the dividend's zero point */
    int32_t input2_zero_point;
    int32_t output_offset;
    int32_t multiplier, shift;         /* input1_scale / (input2_scale * output_scale) */
    int32_t act_min, act_max;
} te_div_params;

/* recip[b + 128] and recip_shift[b + 128]: GetReciprocal(|b - b_zp|, 31) for every divisor value b. */
void te_div_s8(const te_div_params *p, const int8_t *a, const int8_t *b, const int32_t *recip,
               const int32_t *recip_shift, int8_t *output);

#endif /* TE_DIV_H */
