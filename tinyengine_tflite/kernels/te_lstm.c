/* Integer LSTM; see te_lstm.h. */
#include "te_lstm.h"

#include <string.h>

#include "te_common.h"

/* ---- gemmlowp's fixed point on int16 raw values (LiteRT's ApplySigmoid / ApplyTanh) --------------------- */

/* An int32 value cast to int16 the way the references' static_cast does (two's complement wrap). */
static int16_t wrap16(int32_t v) {
    v &= 0xFFFF;
    return (int16_t)(v >= 0x8000 ? v - 0x10000 : v);
}

static int16_t sat16(int32_t v) {
    return (int16_t)te_clamp(v, INT16_MIN, INT16_MAX);
}

/* SaturatingRoundingDoublingHighMul for int16: round(a * b / 2^15), halves away from zero. */
static int16_t srdhm16(int16_t a, int16_t b) {
    int32_t ab;
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    ab = (int32_t)a * (int32_t)b;
    return (int16_t)((ab + (ab >= 0 ? (1 << 14) : (1 - (1 << 14)))) / (1 << 15));
}

static int16_t rdbpot16(int16_t x, int exponent) {
    return (int16_t)te_rounding_divide_by_pot(x, exponent);
}

/* SaturatingRoundingMultiplyByPOT with a positive exponent: a saturating left shift. */
static int16_t sat_shl16(int16_t x, int exponent) {
    const int32_t threshold = (1 << (15 - exponent)) - 1;
    if (x > threshold) {
        return INT16_MAX;
    }
    if (x < -threshold) {
        return INT16_MIN;
    }
    return wrap16((int32_t)x * (1 << exponent));
}

/* gemmlowp constants are int32 Q-values; the int16 instantiation rounds them to their top 16 bits. */
static int16_t const16(int32_t value) {
    return (int16_t)te_rounding_divide_by_pot(value, 16);
}

/* exp(a) for a in [-1/4, 0), Q0.15 in and out. */
static int16_t exp_quarter16(int16_t a) {
    const int16_t constant_term = const16(1895147668);   /* exp(-1/8) */
    const int16_t one_third = const16(715827883);
    const int16_t x = wrap16(a + (1 << 12));              /* a + 1/8 */
    const int16_t x2 = srdhm16(x, x);
    const int16_t x3 = srdhm16(x2, x);
    const int16_t x4 = srdhm16(x2, x2);
    const int16_t x4_over_4 = rdbpot16(x4, 2);
    const int16_t poly = rdbpot16(wrap16(srdhm16(wrap16(x4_over_4 + x3), one_third) + x2), 1);
    return sat16(constant_term + srdhm16(constant_term, wrap16(x + poly)));
}

/* exp(a) for a <= 0 with integer_bits integer bits, Q0.15 result. */
static int16_t exp_on_negative16(int16_t a, int integer_bits) {
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fractional_bits = 15 - integer_bits;
    const int16_t one_quarter = (int16_t)(1 << (fractional_bits - 2));
    const int16_t mod_quarter = wrap16((a & (one_quarter - 1)) - one_quarter);
    const int16_t remainder = wrap16(mod_quarter - a);
    int16_t result = exp_quarter16(integer_bits > 0 ? sat_shl16(mod_quarter, integer_bits) : mod_quarter);
    int k;
    for (k = 0; k < 7; ++k) {
        const int exponent = k - 2;
        if (integer_bits > exponent && (remainder & (1 << (fractional_bits + exponent))) != 0) {
            result = srdhm16(result, const16(barrel[k]));
        }
    }
    if (integer_bits > 5 && a < const16(-(1 << (36 - integer_bits)))) {
        result = 0;                                       /* below -32 */
    }
    return a == 0 ? INT16_MAX : result;
}

/* Newton-Raphson 1 / ((1 + a) / 2) for a in Q0.15 [0, 1), result in Q2.13. */
static int16_t newton_half_reciprocal16(int16_t a) {
    const int32_t sum = (int32_t)a + INT16_MAX;
    const int16_t half_denominator = (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int16_t x = wrap16(const16(1515870810) + srdhm16(half_denominator, const16(-1010580540)));
    int k;
    for (k = 0; k < 3; ++k) {
        const int16_t one_minus = wrap16((1 << 13) - srdhm16(half_denominator, x));
        x = wrap16(x + sat_shl16(srdhm16(x, one_minus), 2));
    }
    return x;
}

/* gemmlowp logistic: Q3.12 in, Q0.15 out. */
static int16_t sigmoid_q3(int16_t a) {
    int16_t positive;
    if (a == 0) {
        return 1 << 14;
    }
    positive = sat_shl16(newton_half_reciprocal16(exp_on_negative16(a > 0 ? wrap16(-a) : a, 3)), 1);
    return a > 0 ? positive : wrap16(INT16_MAX - positive);
}

/* gemmlowp tanh: integer_bits integer bits in, Q0.15 out. */
static int16_t tanh_fixed(int16_t a, int integer_bits) {
    int16_t t;
    if (a == 0) {
        return 0;
    }
    t = sat_shl16(wrap16(newton_half_reciprocal16(exp_on_negative16(a < 0 ? a : wrap16(-a), integer_bits + 1)) -
                         (1 << 13)), 2);
    return a < 0 ? wrap16(-t) : t;
}

/* ---- TFLM's reference_integer_ops::Logistic / Tanh for int16 (interpolated table) -------------------------- */

/* sigmoid(k / 24) in 0.16 fixed point, k = 0 .. 255: TFLite's sigmoid_table_uint16. */
static const uint16_t sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,};

/* Q3.12 in (input multiplier 3: the table's scale), Q0.15 out. */
static int16_t tflm_sigmoid(int16_t x) {
    const int32_t v = (int32_t)x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t ua = sigmoid_table[uh];
        r = (ua << 9) + (a & 0x1FFu) * (sigmoid_table[uh + 1] - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
    return (int16_t)(r >> 10);
}

/* x scaled by 2^scale_power in, Q0.15 out (TFLM's lstm_internal::Tanh). */
static int16_t tflm_tanh(int16_t x, int32_t scale_power) {
    const int32_t left_shift = 15 + scale_power - 3;
    const int32_t multiplier = left_shift < 0 ? 3 : 3 * (1 << left_shift);
    const int32_t shift = left_shift < 0 ? -left_shift : 0;
    const int32_t v = ((int32_t)x * multiplier + (shift > 0 ? 1 << (shift - 1) : 0)) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
        r = 0xFFFF << 8;
    } else {
        const uint32_t ua = sigmoid_table[uh];
        r = (int32_t)((ua << 8) + (a & 0xFFu) * (sigmoid_table[uh + 1] - ua));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

/* ---- the LSTM ----------------------------------------------------------------------------------------------- */

static int32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n) {
    int32_t acc = 0;
    int32_t k;
    for (k = 0; k < n; ++k) {
        acc += (int32_t)a[k] * (int32_t)b[k];
    }
    return acc;
}

/* One gate's pre-activation (Q3.12) for unit u. */
static int16_t gate_input(const te_lstm_params *p, int g, int32_t u, const int8_t *x, const int8_t *h,
                          const int8_t *input_weights, const int8_t *recurrent_weights, const int32_t *input_bias,
                          const int32_t *recurrent_bias, const int32_t *q) {
    const int32_t row = g * p->units + u;
    const int32_t in_acc = input_bias[row] + dot_s8(x, input_weights + row * p->input_size, p->input_size);
    const int32_t rec_acc = recurrent_bias[row] + dot_s8(h, recurrent_weights + row * p->units, p->units);
    const int16_t in_part = sat16(te_multiply_by_quantized_multiplier(in_acc, q[4 * g], q[4 * g + 1]));
    const int32_t rec_part = te_multiply_by_quantized_multiplier(rec_acc, q[4 * g + 2], q[4 * g + 3]);
    return p->tflm ? sat16(in_part + sat16(rec_part)) : sat16(rec_part + in_part);
}

/* One time step of one batch row: out gets the new hidden state, then h does. */
static void lstm_step(const te_lstm_params *p, const int8_t *x, const int8_t *input_weights,
                      const int8_t *recurrent_weights, const int32_t *input_bias, const int32_t *recurrent_bias,
                      const int32_t *q, int8_t *out, int8_t *h, int16_t *c) {
    int32_t u;
    for (u = 0; u < p->units; ++u) {
        int16_t gate[4];
        int16_t in_gate, forget, cell_gate, out_gate, forget_cell, input_cell, new_cell, tanh_cell;
        int32_t hidden;
        int g;
        for (g = 0; g < 4; ++g) {
            gate[g] = gate_input(p, g, u, x, h, input_weights, recurrent_weights, input_bias, recurrent_bias, q);
        }
        if (p->tflm) {
            in_gate = tflm_sigmoid(gate[0]);
            forget = tflm_sigmoid(gate[1]);
            cell_gate = tflm_tanh(gate[2], -12);
            out_gate = tflm_sigmoid(gate[3]);
            forget_cell = sat16(te_multiply_by_quantized_multiplier((int32_t)forget * c[u], p->fc_mult, p->fc_shift));
            input_cell = sat16(te_multiply_by_quantized_multiplier((int32_t)in_gate * cell_gate, p->ig_mult,
                                                                   p->ig_shift));
        } else {
            in_gate = sigmoid_q3(gate[0]);
            forget = sigmoid_q3(gate[1]);
            cell_gate = tanh_fixed(gate[2], 3);
            out_gate = sigmoid_q3(gate[3]);
            forget_cell = wrap16(te_rounding_divide_by_pot((int32_t)forget * c[u], 15));
            input_cell = wrap16(te_rounding_divide_by_pot((int32_t)in_gate * cell_gate, 30 + p->cell_shift));
        }
        new_cell = sat16(forget_cell + input_cell);
        if (p->cell_clip > 0) {
            new_cell = (int16_t)te_clamp(new_cell, -p->cell_clip, p->cell_clip);
        }
        c[u] = new_cell;
        tanh_cell = p->tflm ? tflm_tanh(new_cell, p->cell_shift) : tanh_fixed(new_cell, 15 + p->cell_shift);
        hidden = te_multiply_by_quantized_multiplier((int32_t)out_gate * tanh_cell, p->hidden_mult, p->hidden_shift) +
                 p->hidden_offset;
        out[u] = (int8_t)te_clamp(hidden, -128, 127);
    }
    memcpy(h, out, (size_t)p->units);
}

void te_lstm_s8_s16(const te_lstm_params *p, const int8_t *input, const int8_t *weights, const int32_t *input_bias,
                    const int32_t *recurrent_bias, const int32_t *gate_quant, int8_t *output, int8_t *hidden,
                    int16_t *cell) {
    const int8_t *recurrent_weights = weights + 4 * p->units * p->input_size;
    int32_t b, t;
    for (b = 0; b < p->batches; ++b) {
        for (t = 0; t < p->time_steps; ++t) {
            const int32_t step = p->time_major ? t * p->batches + b : b * p->time_steps + t;
            lstm_step(p, input + step * p->input_size, weights, recurrent_weights, input_bias, recurrent_bias,
                      gate_quant, output + step * p->units, hidden + b * p->units, cell + b * p->units);
        }
    }
}
