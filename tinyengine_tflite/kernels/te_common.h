/* tinyengine_tflite kernel library: fixed-point helpers shared by every kernel.
 *
 * The arithmetic reproduces TFLite's reference integer kernels bit for bit (gemmlowp's rounding doubling
 * high multiply and rounding right shift; TFLite's MultiplyByQuantizedMultiplier, in both its roundings). Right
 * shifts of negative values assume an arithmetic shift, as gcc and arm-none-eabi-gcc implement it.
 * C99, no allocation, no host dependency. */
#ifndef TE_COMMON_H
#define TE_COMMON_H

#include <stdint.h>

/* Forces inlining where a helper takes a function pointer that must become a direct call even at -Os. */
#if defined(__GNUC__)
#define TE_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define TE_ALWAYS_INLINE static inline
#endif

/* Keeps a helper a call of its own (its frame is not added to its caller's). */
#if defined(__GNUC__)
#define TE_NOINLINE __attribute__((noinline))
#else
#define TE_NOINLINE
#endif

/* Fully unrolls the loop that follows when its trip count is a constant (the kernels' specialized variants). */
#if defined(__GNUC__) && !defined(__clang__)
#define TE_UNROLL _Pragma("GCC unroll 16")
#else
#define TE_UNROLL
#endif

/* --- The kernel API's shared parameter types (the shape of CMSIS-NN's arm_nnfunctions.h) ------------------
 * A kernel takes one const parameter struct built from these, then its tensors, then a scratch pointer where
 * its _get_buffer_size function (the one definition of its scratch) asks for scratch. Offsets follow one
 * scheme everywhere: input_offset is minus the input zero point (added to input values), output_offset the
 * output zero point (added to results). Every field is an int32_t, so a parameter struct is a flat run of
 * int32 values (the code generator fills them with nested designators, the tests mirror them through ctypes). */
typedef struct {
    int32_t h, w, c;        /* an NHWC activation of batch 1 */
} te_dims;

typedef struct {
    int32_t h, w;           /* a kernel size, stride, dilation, or padding (top, left) */
} te_hw;

typedef struct {
    int32_t min, max;       /* the fused activation's clamp, in output values */
} te_activation;

/* Per-channel requantization (CMSIS-NN's cmsis_nn_per_channel_quant_params): one multiplier and shift per
 * output channel as TFLite's QuantizeMultiplier forms them (multiplier 0 or in [2^30, 2^31), a power-of-two
 * shift). The generated code passes the two constant arrays; kernels keep them together in this struct. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
} te_per_channel_quant_params;

#define TE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TE_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline int32_t te_clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* TFLite CountLeadingZeros: 32 for 0. */
static inline int te_count_leading_zeros(uint32_t x) {
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating the one overflow case. */
static inline int32_t te_sat_round_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    /* gemmlowp adds 2^30 (1 - 2^30 when a * b < 0) and truncates toward zero; for a negative product that is
     * the ceiling of (a * b + 1 - 2^30) / 2^31, which equals the floor of (a * b + 2^30) / 2^31. So one
     * rounding form serves both signs: a multiply-accumulate and a shift, no sign test. */
    return (int32_t)(((int64_t)a * (int64_t)b + (1LL << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounding halves away from zero. */
static inline int32_t te_rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^(shift - 31), rounded twice
 * (doubling high multiply, then a rounding right shift). The convolutions use it, and so does
 * FULLY_CONNECTED when it follows TFLM. */
static inline int32_t te_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);  /* wraps like TFLite's int32 multiply */
    return te_rounding_divide_by_pot(te_sat_round_doubling_high_mul(shifted, multiplier), right);
}

/* The single-rounding form: round(x * multiplier / 2^(31 - shift)), halves up; shift in [-31, 30].
 * LiteRT's fully-connected reference kernel rounds this way (checked bit for bit); TFLM's rounds twice. */
static inline int32_t te_multiply_by_quantized_multiplier_single(int32_t x, int32_t multiplier, int32_t shift) {
    const int total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)(((int64_t)x * multiplier + round) >> total_shift);
}

/* Requantize an int32 accumulator to int8 with the output offset and activation clamp. */
static inline int8_t te_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                   int32_t act_min, int32_t act_max) {
    int32_t v = te_multiply_by_quantized_multiplier(acc, multiplier, shift) + output_offset;
    return (int8_t)te_clamp(v, act_min, act_max);
}

/* te_multiply_by_quantized_multiplier split into its per-channel part (te_quant_channel, computed once per
 * channel) and its per-value part (te_quant_scale), exact for multipliers >= 0 (the compiler's lie in
 * [0, 2^31)). With a right shift e >= 1 both roundings fold into one: with P = x * multiplier,
 *   RoundingDivideByPOT(floor((P + 2^30) / 2^31), e) = floor((P + 2^30 + 2^(30+e) - [x < 0] 2^31) / 2^(31+e))
 * (gemmlowp's rounding is floor((v + 2^(e-1) - [v < 0]) / 2^e), floor(floor(a / b) + c) / d = floor((a + cb) /
 * bd), and v < 0 only if x < 0, while x < 0 with v = 0 rounds to 0 either way), so a value costs one 64-bit
 * multiply-accumulate and a shift. */
typedef struct {
    int32_t mult;
    int32_t left;       /* max(shift, 0) */
    int32_t right;      /* max(-shift, 0) */
    int64_t round;      /* 2^30 + 2^(30 + right) when right > 0 */
} te_quant_ch;

static inline te_quant_ch te_quant_channel(int32_t multiplier, int32_t shift) {
    te_quant_ch q;
    q.mult = multiplier;
    q.left = shift > 0 ? shift : 0;
    q.right = shift > 0 ? 0 : -shift;
    q.round = (1LL << 30) + (q.right > 0 ? (1LL << (30 + q.right)) : 0);
    return q;
}

static inline int32_t te_quant_scale(const te_quant_ch *q, int32_t x) {
    if (q->right == 0) {
        const int32_t shifted = (int32_t)((uint32_t)x << q->left);
        return (int32_t)(((int64_t)shifted * q->mult + (1LL << 30)) >> 31);
    }
    const int64_t t = q->round + (int64_t)x * q->mult - (x < 0 ? (1LL << 31) : 0);
    return (int32_t)(t >> 32) >> (q->right - 1);
}

/* te_requantize with a te_quant_ch. */
static inline int8_t te_quant_output(const te_quant_ch *q, int32_t acc, int32_t output_offset, int32_t act_min,
                                     int32_t act_max) {
    return (int8_t)te_clamp(te_quant_scale(q, acc) + output_offset, act_min, act_max);
}

/* te_requantize's value before the clamp (TFLite's two roundings plus the output offset) in five Cortex-M
 * instructions (AND, ORR, ADD, SMLAL, ASR), for the kernels' hot loops. With r = -shift the value is, by
 * te_quant_scale's identity with the offset folded in, the one floor
 *   floor((x * mult + 2^30 + 2^(30+r) - [x < 0] 2^31 + output_offset 2^(31+r)) / 2^(31+r)),
 * whose constant is 2^32 * high + 2^30 with high = 2^(r-2) + output_offset 2^(r-1): the low word of the sum
 * before the multiply is 2^30 | (x & 2^31) and its high word high + (x >> 31) (the borrow of - 2^31). Exact
 * where te_quant_fast_fits: mult >= 0, r in [2, 23] and |output_offset| <= 128 (then |2^32 high| <= 2^61.1
 * and |x * mult| <= 2^62, so the 64-bit sum cannot overflow; r = 24 overflows only for |x| >= 2^30, so it is
 * exact too where the accumulator is known to be smaller, as ADD's is). */
typedef struct {
    int32_t mult;
    int32_t high;       /* 2^(r-2) + output_offset 2^(r-1) */
    int32_t shift;      /* r - 1 */
} te_quant_fast;

static inline int te_quant_fast_fits(int32_t multiplier, int32_t shift, int32_t output_offset) {
    return multiplier >= 0 && shift <= -2 && shift >= -23 && output_offset >= -128 && output_offset <= 128;
}

/* With output_offset 0 (the offset added to te_quant_fast_scale's value instead) the identity holds for r up to
 * 31: the high word is then 2^(r-2) <= 2^29, so with |x * mult| < 2^62 the 64-bit sum stays below 2^63. */
static inline int te_quant_fast_fits_wide(int32_t multiplier, int32_t shift) {
    return multiplier >= 0 && shift <= -2 && shift >= -31;
}

static inline te_quant_fast te_quant_fast_channel(int32_t multiplier, int32_t shift, int32_t output_offset) {
    te_quant_fast q;
    q.mult = multiplier;
    q.high = (int32_t)((uint32_t)(2 * output_offset + 1) << (-shift - 2));   /* (2 off + 1) 2^(r-2) */
    q.shift = -shift - 1;
    return q;
}

static inline int32_t te_quant_fast_scale(te_quant_fast q, int32_t x) {
    const int64_t c = (int64_t)(q.high + (x >> 31)) * 4294967296LL +
                      (int64_t)(((uint32_t)x & 0x80000000u) | 0x40000000u);
    return (int32_t)((c + (int64_t)x * q.mult) >> 32) >> q.shift;
}

/* Whether the SMMLAR requantization (SMMLAR(2 acc, mult, K) - [acc < 0]) >> r with K = (2 output_offset + 1)
 * 2^(r-1) (te_conv.c's TE_Q15_OUT_SMML_ASM, te_depthwise.c's ring; te_rescale.h derives it) gives te_quant_fast's
 * value with the whole int8 range for every channel of a layer whose multipliers are >= 0 (the callers' fast
 * modes check it), `depth` int8 products an accumulator: accumulators below 2^30 in magnitude (|bias| + 2^14
 * depth), so that 2 acc fits, a right shift r >= 1, and SMMLAR's sum y + K - 1 inside int32 with
 * |y| <= |acc| mult / 2^31 + 1. A channel with r in [1, 22] and |bias| below the limit passes at once
 * (|y| < 2^30, |K| <= 257 2^21 for an int8 output offset); the others are checked with their own bounds. */
static inline int te_smml_fits(const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t channels,
                               int32_t depth, int32_t output_offset) {
    const int32_t limit = (1 << 30) - (1 << 14) * depth;
    if (limit <= 0 || output_offset < -128 || output_offset > 128) {
        return 0;
    }
    for (int32_t c = 0; c < channels; ++c) {
        /* r in [1, 22] and |bias| < limit (one unsigned compare each) */
        if ((uint32_t)(-shift[c] - 1) < 22u && (uint32_t)bias[c] + (uint32_t)limit - 1u < 2u * (uint32_t)limit - 1u) {
            continue;
        }
        const int32_t r = -shift[c];
        const int64_t acc = (bias[c] < 0 ? -(int64_t)bias[c] : (int64_t)bias[c]) + ((int64_t)1 << 14) * depth;
        if (r < 1 || r > 30 || acc >= ((int64_t)1 << 30) || mult[c] < 0) {
            return 0;
        }
        const int64_t k = ((int64_t)2 * output_offset + 1) * ((int64_t)1 << (r - 1));
        if ((k < 0 ? -k : k) + ((acc * mult[c]) >> 31) + 2 >= ((int64_t)1 << 31)) {
            return 0;
        }
    }
    return 1;
}

#endif /* TE_COMMON_H */
