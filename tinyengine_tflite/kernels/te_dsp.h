/* The SIMD instructions of the Cortex-M DSP extension the kernels use (internal to the library).
 *
 * TE_DSP is 1 when the kernels take their DSP path: on a core with the DSP extension (__ARM_FEATURE_DSP:
 * Cortex-M4, M7, M33, M55), through the ACLE intrinsics of <arm_acle.h>, or anywhere when TE_EMULATE_DSP is
 * defined, through plain C that computes the same values (so the host tests the DSP path bit for bit). Other
 * targets (Cortex-M0+, M3, the host) take the portable path. Both paths compute identical results.
 *
 * Packed values are little-endian: lane 0 is bits 15..0 of a word, lane 1 bits 31..16. */
#ifndef TE_DSP_H
#define TE_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP)
#include <arm_acle.h>
#define TE_DSP 1

/* Bytes 0 and 2 of x, sign-extended into the two lanes. */
static inline uint32_t te_sxtb16(uint32_t x) {
    return __sxtb16(x);
}

/* Bytes 1 and 3 of x, sign-extended: one SXTB16 with its ROR #8 operand (gcc does not fold a rotate into the
 * intrinsic, hence the instruction itself). */
static inline uint32_t te_sxtb16_hi(uint32_t x) {
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* acc + x.lane0 * y.lane0 + x.lane1 * y.lane1 (signed 16-bit lanes). */
static inline int32_t te_smlad(uint32_t x, uint32_t y, int32_t acc) {
    return __smlad(x, y, acc);
}

#elif defined(TE_EMULATE_DSP)
#define TE_DSP 1

static inline int32_t te_lane(uint32_t x, int k) {
    return (int16_t)(uint16_t)(x >> (16 * k));
}

static inline uint32_t te_sxtb16(uint32_t x) {
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)x |
           (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)(x >> 16) << 16;
}

static inline uint32_t te_sxtb16_hi(uint32_t x) {
    return te_sxtb16(x >> 8);
}

static inline int32_t te_smlad(uint32_t x, uint32_t y, int32_t acc) {
    /* The hardware sum wraps modulo 2^32 (it only sets the Q flag); so does this one. */
    return (int32_t)((uint32_t)acc + (uint32_t)(te_lane(x, 0) * te_lane(y, 0)) +
                     (uint32_t)(te_lane(x, 1) * te_lane(y, 1)));
}

#else
#define TE_DSP 0
#endif

/* acc + bytes 0 and 2 of x sign-extended, lane by lane (each 16-bit lane wraps on its own). */
#if defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP)
static inline uint32_t te_sxtab16(uint32_t acc, uint32_t x) {
    return __sxtab16(acc, x);
}
#elif defined(TE_EMULATE_DSP)
static inline uint32_t te_sxtab16(uint32_t acc, uint32_t x) {
    const uint32_t s = te_sxtb16(x);
    return ((acc + s) & 0xFFFFu) | (((acc >> 16) + (s >> 16)) << 16);
}
#endif

/* The high word of acc * 2^32 + x * y, rounded (+ 2^31 before the truncation), modulo 2^32: one SMMLAR. */
#if defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP)
static inline int32_t te_smmlar(int32_t x, int32_t y, int32_t acc) {
    int32_t r;
    __asm("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(acc));
    return r;
}
#elif defined(TE_EMULATE_DSP)
static inline int32_t te_smmlar(int32_t x, int32_t y, int32_t acc) {
    const uint64_t t = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)x * y) + 0x80000000u;
    return (int32_t)(uint32_t)(t >> 32);
}
#endif

/* v saturated to int8 (a single SSAT where the core has it). */
static inline int32_t te_sat_s8(int32_t v) {
#if defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP)
    return __ssat(v, 8);
#else
    return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

/* A 32-bit load from any address (a single LDR where the core allows unaligned access). */
static inline uint32_t te_load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#endif /* TE_DSP_H */
