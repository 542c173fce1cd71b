/* UNIDIRECTIONAL_SEQUENCE_LSTM, TFLite's integer LSTM (8x8_16): int8 input, weights and hidden state, int16 cell
 * state (scale 2^cell_shift) and gates (Q3.12 before the activations, Q0.15 after), int32 biases. No peephole,
 * projection, layer norm or CIFG (a Keras LSTM has none). Each batch row runs its time steps in order; the
 * hidden and cell states, [batches][units], live outside the arena and carry over from one invoke to the next.
 *
 * Per step, for the gates g = input, forget, cell, output (in that order in every array):
 *   gate_g = act_g(requant(x . W_g + in_bias_g) + requant(h . R_g + rec_bias_g))   (int16, saturated)
 *   c = clip(f * c + i * g),  h = requant(o * tanh(c)) + hidden_offset               (int8 output and new h)
 * The biases fold the zero points in (bias - zp_x * sum(W), -zp_h * sum(R)), so the accumulators are the
 * references' integers. The two references differ only in how they requantize and activate:
 * - tflm = 0, LiteRT's lstm_eval: the recurrent product added to the saturated input product before
 *   saturating again, gemmlowp's int16 fixed-point sigmoid / tanh, the cell products rounded by shifts of 15
 *   and 30 + cell_shift;
 * - tflm = 1, TFLM's lstm_eval: both products saturated and then added, the interpolated sigmoid table of
 *   reference_integer_ops::Logistic / Tanh, the cell products requantized by fc_* and ig_*.
 * Both requantize with MultiplyByQuantizedMultiplier's double rounding. */
#ifndef TE_LSTM_H
#define TE_LSTM_H

#include <stdint.h>

typedef struct {
    int32_t batches, time_steps, input_size, units;
    int32_t time_major;                     /* input [time][batch][input] (else [batch][time][input]) */
    int32_t cell_shift;                     /* cell state scale = 2^cell_shift, -15 .. -9 */
    int32_t cell_clip;                      /* |c| <= cell_clip after each update; 0: no clipping */
    int32_t hidden_mult, hidden_shift;      /* o * tanh(c) (2^-30) -> hidden state */
    int32_t hidden_offset;                  /* hidden state zero point */
    int32_t fc_mult, fc_shift;              /* tflm: forget * cell -> cell */
    int32_t ig_mult, ig_shift;              /* tflm: input * cell gate -> cell */
    int32_t tflm;                           /* 1: follow TFLM, 0: LiteRT */
} te_lstm_params;

/* weights: the input weights [4][units][input_size], then the recurrent weights [4][units][units];
 * input_bias and recurrent_bias [4][units]; gate_quant [4][4]: per gate the input multiplier and shift, then the
 * recurrent ones. output has the input's layout with units per step; hidden (int8) and cell (int16) are the
 * [batches][units] states. */
void te_lstm_s8_s16(const te_lstm_params *p, const int8_t *input, const int8_t *weights, const int32_t *input_bias,
                    const int32_t *recurrent_bias, const int32_t *gate_quant, int8_t *output, int8_t *hidden,
                    int16_t *cell);

#endif /* TE_LSTM_H */
