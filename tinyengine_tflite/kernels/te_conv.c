/* Convolution-family kernels; see te_conv.h. */
#include "te_conv.h"

#include <stddef.h>
#include <string.h>

#include "te_common.h"
#include "te_dsp.h"

static inline int32_t te_pad4(int32_t n) {
    return (n + 3) & ~3;
}

/* Speed builds requantize with te_quant_fast where a channel allows it and unroll the DSP loops; size builds
 * (-Os, gcc's __OPTIMIZE_SIZE__) keep the compact kernels. Both compute the same values. */
#if defined(__OPTIMIZE_SIZE__)
#define TE_CONV_FAST 0
#else
#define TE_CONV_FAST 1
#endif

/* --- CONV_2D and FULLY_CONNECTED: pixels by pair-packed channels ------------------------------------------- */

typedef struct {
    int32_t a00, a01, a10, a11;  /* pixel 0 / 1 by channel 0 / 1 of a pair */
} te_acc2x2;

/* The inner loops in assembly (te_mac_2x2's, te_conv_q15's) where gcc's register allocation of the C loops
 * costs instructions: speed builds for a real DSP core. */
#if TE_DSP && TE_CONV_FAST && defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP) && defined(__OPTIMIZE__) && \
    !defined(__PIC__)
#define TE_CONV_ASM 1
#else
#define TE_CONV_ASM 0
#endif

#if TE_CONV_ASM
/* One depth block (4 int8 values) of te_mac_2x2: both pixels' values (from X0, X1) sign-extended on the fly
 * (SXTB16 on bytes 0/2 and 1/3) into XA0/XA1 and XB0/XB1, each times both channels of the pair (WV, T);
 * 20 instructions per 16 MACs. The arguments name the operands. */
#define TE_MAC_2X2_BLOCK_ASM(XA0, XA1, XB0, XB1, WV, T, X0, X1)                                               \
    "ldr %[" XA1 "], [%[" X0 "]], #4\n\t"                                                                      \
    "ldr %[" XB1 "], [%[" X1 "]], #4\n\t"                                                                      \
    "ldr %[" WV "], [%[w]], #4\n\t"                                                                           \
    "sxtb16 %[" XA0 "], %[" XA1 "]\n\t"                                                                       \
    "sxtb16 %[" XA1 "], %[" XA1 "], ror #8\n\t"                                                               \
    "sxtb16 %[" XB0 "], %[" XB1 "]\n\t"                                                                       \
    "sxtb16 %[" XB1 "], %[" XB1 "], ror #8\n\t"                                                               \
    "sxtb16 %[" T "], %[" WV "]\n\t"                                                                          \
    "sxtb16 %[" WV "], %[" WV "], ror #8\n\t"                                                                 \
    "smlad %[c00], %[" XA0 "], %[" T "], %[c00]\n\t"                                                          \
    "smlad %[c00], %[" XA1 "], %[" WV "], %[c00]\n\t"                                                         \
    "smlad %[c10], %[" XB0 "], %[" T "], %[c10]\n\t"                                                          \
    "smlad %[c10], %[" XB1 "], %[" WV "], %[c10]\n\t"                                                         \
    "ldr %[" WV "], [%[w]], #4\n\t"                                                                           \
    "sxtb16 %[" T "], %[" WV "]\n\t"                                                                          \
    "sxtb16 %[" WV "], %[" WV "], ror #8\n\t"                                                                 \
    "smlad %[c01], %[" XA0 "], %[" T "], %[c01]\n\t"                                                          \
    "smlad %[c01], %[" XA1 "], %[" WV "], %[c01]\n\t"                                                         \
    "smlad %[c11], %[" XB0 "], %[" T "], %[c11]\n\t"                                                          \
    "smlad %[c11], %[" XB1 "], %[" WV "], %[c11]\n\t"
#define TE_MAC_2X2_BLOCK_NAMED TE_MAC_2X2_BLOCK_ASM("xa0", "xa1", "xb0", "xb1", "wv", "t", "x0", "x1")

/* te_mac_2x2's blocks (blocks >= 0), two a trip (14 registers); the pointers advance past them. The sums are
 * te_mac_2x2's C loop's (the same products, added modulo 2^32). */
TE_ALWAYS_INLINE void te_mac_2x2_blocks_asm(const int8_t **x0p, const int8_t **x1p, const int8_t **wp,
                                            int32_t blocks, int32_t *a00, int32_t *a01, int32_t *a10,
                                            int32_t *a11) {
    int32_t c00 = *a00, c01 = *a01, c10 = *a10, c11 = *a11;
    const int8_t *x0 = *x0p, *x1 = *x1p, *w = *wp;
    uint32_t xa0, xa1, xb0, xb1, wv, t;
    int32_t pairs = blocks >> 1;
    if (pairs > 0) {
        __asm volatile(
            "1:\n\t"
            TE_MAC_2X2_BLOCK_NAMED
            TE_MAC_2X2_BLOCK_NAMED
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [x0] "+r"(x0), [x1] "+r"(x1),
              [w] "+r"(w), [n] "+r"(pairs), [xa0] "=&r"(xa0), [xa1] "=&r"(xa1), [xb0] "=&r"(xb0),
              [xb1] "=&r"(xb1), [wv] "=&r"(wv), [t] "=&r"(t)
            :
            : "cc", "memory");
    }
    if (blocks & 1) {
        __asm volatile(
            TE_MAC_2X2_BLOCK_NAMED
            : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [x0] "+r"(x0), [x1] "+r"(x1),
              [w] "+r"(w), [xa0] "=&r"(xa0), [xa1] "=&r"(xa1), [xb0] "=&r"(xb0), [xb1] "=&r"(xb1),
              [wv] "=&r"(wv), [t] "=&r"(t)
            :
            : "memory");
    }
    *a00 = c00;
    *a01 = c01;
    *a10 = c10;
    *a11 = c11;
    *x0p = x0;
    *x1p = x1;
    *wp = w;
}
#undef TE_MAC_2X2_BLOCK_NAMED

/* te_conv_q15's loops in assembly: the block's multiply-accumulates (te_q15_blocks_asm) and, where the
 * activation is the whole int8 range, a pixel pair's whole run of channel pairs (te_pairs_asm, which
 * te_conv_1x1_fast shares with te_mac_2x2's block). */

/* One block: the q15 columns v (pixel 0's two int16 pairs, then pixel 1's) times a pair-packed channel pair
 * w (4 int8 values per channel), 14 instructions per 16 MACs. The columns come in one LDM, so v0..v3 are bound
 * to ascending registers (TE_Q15_REGS). T is the operand holding a sign-extended weight pair. */
#define TE_Q15_BLOCK_ASM(T)                                                                                    \
    "ldmia %[v]!, {%[v0], %[v1], %[v2], %[v3]}\n\t"                                                            \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                                                        \
    "sxtb16 %[" T "], %[wa]\n\t"                                                                               \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                                                                          \
    "smlad %[c00], %[v0], %[" T "], %[c00]\n\t"                                                                \
    "smlad %[c00], %[v1], %[wa], %[c00]\n\t"                                                                   \
    "smlad %[c10], %[v2], %[" T "], %[c10]\n\t"                                                                \
    "smlad %[c10], %[v3], %[wa], %[c10]\n\t"                                                                   \
    "sxtb16 %[" T "], %[wb]\n\t"                                                                               \
    "sxtb16 %[wb], %[wb], ror #8\n\t"                                                                          \
    "smlad %[c01], %[v0], %[" T "], %[c01]\n\t"                                                                \
    "smlad %[c01], %[v1], %[wb], %[c01]\n\t"                                                                   \
    "smlad %[c11], %[v2], %[" T "], %[c11]\n\t"                                                                \
    "smlad %[c11], %[v3], %[wb], %[c11]\n\t"

/* The registers of the blocks' operands (local register variables, as asm operands only): the columns in
 * r0..r3 for the LDM, the rest anywhere; T in r7. */
#define TE_Q15_REGS                                                                                            \
    register uint32_t v0 __asm("r0"), v1 __asm("r1"), v2 __asm("r2"), v3 __asm("r3");                         \
    register uint32_t wa __asm("r5"), wb __asm("r6")

/* n blocks (n >= 1, in %[n]; flags and n clobbered), two a trip: an odd block first, then the pairs. */
#define TE_Q15_BLOCKS_ASM(T)                                                                                   \
    "lsrs %[n], %[n], #1\n\t"                                                                                  \
    "bcc 1f\n\t"                                                                                               \
    TE_Q15_BLOCK_ASM(T)                                                                                        \
    "beq 2f\n\t" /* the Z flag of lsrs: no pairs */                                                           \
    "1:\n\t"                                                                                                   \
    TE_Q15_BLOCK_ASM(T)                                                                                        \
    TE_Q15_BLOCK_ASM(T)                                                                                        \
    "subs %[n], %[n], #1\n\t"                                                                                  \
    "bne 1b\n\t"                                                                                               \
    "2:\n\t"

/* The accumulators += `blocks` (>= 1) blocks of q15 columns v times a pair-packed channel pair w, as
 * te_conv_q15's C loop computes them; returns w past the blocks. */
static inline const int8_t *te_q15_blocks_asm(const uint32_t *v, const int8_t *w, int32_t blocks, int32_t *a00,
                                              int32_t *a01, int32_t *a10, int32_t *a11) {
    TE_Q15_REGS;
    register int32_t c00 __asm("r8") = *a00, c01 __asm("r9") = *a01, c10 __asm("r10") = *a10,
                     c11 __asm("r11") = *a11;
    register const uint32_t *vr __asm("r4") = v;
    register const int8_t *wr __asm("r12") = w;
    register int32_t n __asm("lr") = blocks;
    register uint32_t t __asm("r7");
    __asm volatile(TE_Q15_BLOCKS_ASM("t")
                   : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [v] "+r"(vr),
                     [w] "+r"(wr), [n] "+r"(n), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3),
                     [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t)
                   :
                   : "cc", "memory");
    *a00 = c00;
    *a01 = c01;
    *a10 = c10;
    *a11 = c11;
    return wr;
}

/* What te_pairs_asm reads, at the offsets its assembly uses (32-bit pointers). */
typedef struct {
    const int32_t *bias;     /*  0: the channel pair's bias, multiplier and shift, each advanced past it (bias,
                              *     inputs and blocks come in one LDM) */
    const void *x0;          /*  4: the pixel pair's q15 columns, or pixel 0's int8 inputs (te_conv_1x1_fast) */
    int32_t blocks;          /*  8: their depth blocks (>= 1) */
    const int32_t *mult;     /* 12 */
    const int32_t *shift;    /* 16 */
    int8_t *out0;            /* 20: pixel 0's outputs of the pair, advanced by 2 */
    int32_t out_c;           /* 24: out1 - out0 (the SMMLAR form keeps out1 implicit; one LDRD with out0) */
    int8_t *end;             /* 28: out0 past the last pair */
    int32_t k;               /* 32: the high word is k << (r - 2): 2 * output_offset + 1, or 1 (TE_RQ_WIDE_FULL) */
    int32_t output_offset;   /* 36: added after the shift (TE_RQ_WIDE_FULL) */
    const int8_t *x1;        /* 40: pixel 1's int8 inputs (te_conv_1x1_fast) */
    int8_t *out1;            /* 44: pixel 1's outputs of the pair, advanced by 2 (TE_PAIRS_ASM) */
} te_pairs_run;
typedef char te_pairs_run_layout[offsetof(te_pairs_run, out_c) == 24 && offsetof(te_pairs_run, out1) == 44 ? 1 : -1];

/* One channel's te_quant_fast constants from its shift s (in S; H: the high word from k in wa): r - 1 = ~s
 * into S, k << (r - 2) into H. */
#define TE_Q15_CHANNEL_ASM(S, H)                                                                               \
    "ldr %[wa], [%[r], #32]\n\t"                                                                               \
    "mvn %[" S "], %[" S "]\n\t"                                                                               \
    "sub %[" H "], %[" S "], #1\n\t"                                                                           \
    "lsl %[" H "], %[wa], %[" H "]\n\t"

/* One value of te_quant_fast_output with the whole int8 range into A (its accumulator; M: multiplier, H: high
 * word, S: r - 1; clobbers wa, wb): AND, ORR, ADD, SMLAL, ASR, (POST: the offset,) SSAT. */
#define TE_Q15_OUT_ASM(A, M, H, S, POST)                                                                       \
    "and %[wa], %[" A "], #0x80000000\n\t"                                                                     \
    "orr %[wa], %[wa], #0x40000000\n\t"                                                                        \
    "add %[wb], %[" H "], %[" A "], asr #31\n\t"                                                               \
    "smlal %[wa], %[wb], %[" A "], %[" M "]\n\t"                                                               \
    "asr %[wb], %[wb], %[" S "]\n\t"                                                                           \
    POST                                                                                                       \
    "ssat %[" A "], #8, %[wb]\n\t"

/* te_conv_1x1_fast's block in te_pairs_asm's operands: pixel 0's inputs from v, pixel 1's from wb. */
#define TE_PAIRS_1X1_BLOCK_ASM(T) TE_MAC_2X2_BLOCK_ASM("v0", "v1", "v2", "v3", "wa", T, "v", "wb")

/* The pair's multipliers (v0, v1) and shifts (v2, v3), their run pointers advanced past them. */
#define TE_PAIRS_QUANT_LOADS_ASM                                                                               \
    "ldr %[v], [%[r], #12]\n\t" /* the pair's multipliers and shifts */                                        \
    "ldr %[n], [%[r], #16]\n\t"                                                                                \
    "ldr %[v0], [%[v]], #4\n\t"                                                                                \
    "ldr %[v1], [%[v]], #4\n\t"                                                                                \
    "ldr %[v2], [%[n]], #4\n\t"                                                                                \
    "ldr %[v3], [%[n]], #4\n\t"                                                                                \
    "str %[v], [%[r], #12]\n\t"                                                                                \
    "str %[n], [%[r], #16]\n\t"

/* The blocks of a channel pair (two a turn; an odd one runs out of line at 5:), then the run pointer back and
 * the pair's multipliers and shifts loaded (v0, v1: multipliers; v2, v3: shifts): TE_PAIRS_ASM's and
 * TE_PAIRS_SMML_ASM's common middle. */
#define TE_PAIRS_BLOCKS_AND_QUANT_ASM(BLOCK) TE_PAIRS_TRIPS_AND_QUANT_ASM(BLOCK("r") BLOCK("r"))
/* The same with the blocks of a trip given (TRIP). */
#define TE_PAIRS_TRIPS_AND_QUANT_ASM(TRIP)                                                                     \
    "1:\n\t"                                                                                                   \
    TRIP                                                                                                       \
    "subs %[n], %[n], #1\n\t"                                                                                  \
    "bne 1b\n\t"                                                                                               \
    "2:\n\t"                                                                                                   \
    "pop {%[r]}\n\t"                                                                                           \
    TE_PAIRS_QUANT_LOADS_ASM

/* Every channel pair of a pixel pair (at least one: r->end > r->out0) with both pixels, requantized through
 * te_quant_fast with the whole int8 range (te_q15_pair's values), 14 registers. The run pointer is pushed while
 * the blocks need its register (as the weight pair T), and popped back before the requantization. An odd
 * block count runs one block out of line first. HEAD / BLOCK: the pair's first loads (bias pointer, inputs,
 * blocks and what else the blocks read: pixel 1's inputs) and the block (TE_Q15_BLOCK_ASM or
 * TE_PAIRS_1X1_BLOCK_ASM); PRE / POST: te_pairs_asm's `wide` (the offset
 * loaded, then added after the shift) or nothing. */
#define TE_PAIRS_ASM(HEAD, BLOCK, PRE, POST)                                                                   \
    "3:\n\t"                                                                                                   \
    HEAD /* the bias pair (the accumulators), inputs, blocks; what else the blocks read */                     \
    "ldr %[c00], [%[v0]], #4\n\t"                                                                              \
    "ldr %[c01], [%[v0]], #4\n\t"                                                                              \
    "str %[v0], [%[r]]\n\t"                                                                                    \
    "mov %[c10], %[c00]\n\t"                                                                                   \
    "mov %[c11], %[c01]\n\t"                                                                                   \
    "push {%[r]}\n\t"                                                                                          \
    "lsrs %[n], %[n], #1\n\t"                                                                                  \
    "bcs 5f\n\t"                                                                                               \
    TE_PAIRS_BLOCKS_AND_QUANT_ASM(BLOCK)                                                                       \
    PRE                                                                                                        \
    TE_Q15_CHANNEL_ASM("v2", "v")                                                                              \
    TE_Q15_OUT_ASM("c00", "v0", "v", "v2", POST)                                                               \
    TE_Q15_OUT_ASM("c10", "v0", "v", "v2", POST)                                                               \
    TE_Q15_CHANNEL_ASM("v3", "v")                                                                              \
    TE_Q15_OUT_ASM("c01", "v1", "v", "v3", POST)                                                               \
    TE_Q15_OUT_ASM("c11", "v1", "v", "v3", POST)                                                               \
    "ldr %[v], [%[r], #20]\n\t" /* the stores, the next pair */                                                \
    "ldr %[n], [%[r], #44]\n\t"                                                                                \
    "ldr %[wa], [%[r], #28]\n\t"                                                                               \
    "strb %[c00], [%[v]], #1\n\t"                                                                              \
    "strb %[c01], [%[v]], #1\n\t"                                                                              \
    "strb %[c10], [%[n]], #1\n\t"                                                                              \
    "strb %[c11], [%[n]], #1\n\t"                                                                              \
    "str %[v], [%[r], #20]\n\t"                                                                                \
    "str %[n], [%[r], #44]\n\t"                                                                                \
    "cmp %[v], %[wa]\n\t"                                                                                      \
    "bne 3b\n\t"                                                                                               \
    "b 6f\n\t"                                                                                                 \
    "5:\n\t" /* the odd block, then the pairs if any (the Z flag of lsrs) */                                   \
    BLOCK("r")                                                                                                 \
    "bne 1b\n\t"                                                                                               \
    "b 2b\n\t"                                                                                                 \
    "6:\n\t"

/* One value of te_quant_fast_output with the whole int8 range into A through SMMLAR (M: multiplier, K: k <<
 * (r - 1), R: r; clobbers wa): ADD, SMMLAR, ADD, ASR, SSAT. te_rescale.h's te_sum_fast_dsp_one derives the form:
 * (SMMLAR(2 A, M, K) - [A < 0]) >> r; exact where |A| < 2^30 and r <= 22 (te_smml_fits). */
#define TE_Q15_OUT_SMML_ASM(A, M, K, R)                                                                        \
    "add %[wa], %[" A "], %[" A "]\n\t"                                                                        \
    "smmlar %[wa], %[wa], %[" M "], %[" K "]\n\t"                                                              \
    "add %[wa], %[wa], %[" A "], asr #31\n\t"                                                                 \
    "asr %[wa], %[wa], %[" R "]\n\t"                                                                          \
    "ssat %[" A "], #8, %[wa]\n\t"

/* TE_PAIRS_ASM with the whole int8 range requantized through TE_Q15_OUT_SMML_ASM (the offset folded into K),
 * the bias pair loaded twice by LDRD instead of copied, k loaded once a pair, the bias pointer, inputs and blocks
 * by one LDM and pixel 1's outputs addressed from pixel 0's (out_c in the run, loaded with out0 by one LDRD): 53
 * instructions a channel pair besides the blocks, TE_PAIRS_ASM's 62 (63 for te_conv_1x1_fast).
 * EVEN (1: an even block count, the run's blocks field holding half of it) drops the odd-block test; 2: a
 * multiple of 4, the field holding a quarter, four blocks a trip. */
#define TE_SMML_START_0 "lsrs %[n], %[n], #1\n\t" "bcs 5f\n\t"
#define TE_SMML_START_1 ""
#define TE_SMML_START_2 ""
#define TE_SMML_ODD_0(BLOCK) "b 6f\n\t" "5:\n\t" BLOCK("r") "bne 1b\n\t" "b 2b\n\t"
#define TE_SMML_ODD_1(BLOCK)
#define TE_SMML_ODD_2(BLOCK)
#define TE_SMML_TRIP_0(BLOCK) BLOCK("r") BLOCK("r")
#define TE_SMML_TRIP_1(BLOCK) BLOCK("r") BLOCK("r")
#define TE_SMML_TRIP_2(BLOCK) BLOCK("r") BLOCK("r") BLOCK("r") BLOCK("r")
#define TE_PAIRS_SMML_ASM(INPUTS, BLOCK, EVEN)                                                                 \
    "3:\n\t"                                                                                                   \
    "ldmia %[r], {%[v0], %[v], %[n]}\n\t" /* bias, inputs, blocks (v0: r0, v: r4, n: lr, ascending) */         \
    INPUTS                                                                                                     \
    "ldrd %[c00], %[c01], [%[v0]]\n\t"                                                                         \
    "ldrd %[c10], %[c11], [%[v0]], #8\n\t"                                                                     \
    "str %[v0], [%[r]]\n\t"                                                                                    \
    "push {%[r]}\n\t"                                                                                          \
    TE_SMML_START_##EVEN                                                                                       \
    TE_PAIRS_TRIPS_AND_QUANT_ASM(TE_SMML_TRIP_##EVEN(BLOCK))                                                   \
    TE_PAIRS_SMML_TAIL_ASM                                                                                     \
    TE_SMML_ODD_##EVEN(BLOCK) /* the odd block, then the pairs if any (the Z flag of lsrs) */                  \
    "6:\n\t"
/* From the pair's multipliers (v0, v1) and shifts (v2, v3) on: K and R, the four outputs, their stores, the
 * next pair. */
#define TE_PAIRS_SMML_TAIL_ASM                                                                                 \
    "ldr %[wa], [%[r], #32]\n\t" /* k: K = k << (r - 1), R = r from ~s = r - 1 */                              \
    "mvn %[v2], %[v2]\n\t"                                                                                     \
    "lsl %[v], %[wa], %[v2]\n\t"                                                                               \
    "add %[v2], %[v2], #1\n\t"                                                                                 \
    "mvn %[v3], %[v3]\n\t"                                                                                     \
    "lsl %[n], %[wa], %[v3]\n\t"                                                                               \
    "add %[v3], %[v3], #1\n\t"                                                                                 \
    TE_Q15_OUT_SMML_ASM("c00", "v0", "v", "v2")                                                                \
    TE_Q15_OUT_SMML_ASM("c10", "v0", "v", "v2")                                                                \
    TE_Q15_OUT_SMML_ASM("c01", "v1", "n", "v3")                                                                \
    TE_Q15_OUT_SMML_ASM("c11", "v1", "n", "v3")                                                                \
    "ldrd %[v], %[n], [%[r], #20]\n\t" /* the stores (out0, out_c), the next pair */                           \
    "ldr %[wa], [%[r], #28]\n\t"                                                                               \
    "strb %[c10], [%[v], %[n]]\n\t"                                                                            \
    "strb %[c00], [%[v]], #1\n\t"                                                                              \
    "strb %[c11], [%[v], %[n]]\n\t"                                                                            \
    "strb %[c01], [%[v]], #1\n\t"                                                                              \
    "str %[v], [%[r], #20]\n\t"                                                                                \
    "cmp %[v], %[wa]\n\t"                                                                                      \
    "bne 3b\n\t"

/* TE_PAIRS_SMML_ASM on q15 columns for a block count the code names (BLOCKS: NB q15 blocks written out): no
 * depth loop, so its counter's register holds the weight pair T and the run pointer stays in its own (no
 * PUSH/POP), and the bias pointer and inputs come in one LDRD. For the small depths where the loop's and the
 * push's cycles are a large share of a channel pair's. */
#define TE_PAIRS_SMML_FIXED_ASM(BLOCKS)                                                                        \
    "3:\n\t"                                                                                                   \
    "ldrd %[v0], %[v], [%[r]]\n\t" /* bias, inputs */                                                          \
    "ldrd %[c00], %[c01], [%[v0]]\n\t"                                                                         \
    "ldrd %[c10], %[c11], [%[v0]], #8\n\t"                                                                     \
    "str %[v0], [%[r]]\n\t"                                                                                    \
    BLOCKS                                                                                                     \
    TE_PAIRS_QUANT_LOADS_ASM                                                                                   \
    TE_PAIRS_SMML_TAIL_ASM
#define TE_Q15_BLOCK_N TE_Q15_BLOCK_ASM("n")
#define TE_Q15_BLOCKS_2 TE_Q15_BLOCK_N TE_Q15_BLOCK_N
#define TE_Q15_BLOCKS_4 TE_Q15_BLOCKS_2 TE_Q15_BLOCKS_2
#define TE_Q15_BLOCKS_6 TE_Q15_BLOCKS_4 TE_Q15_BLOCKS_2
#define TE_Q15_BLOCKS_7 TE_Q15_BLOCKS_6 TE_Q15_BLOCK_N
#define TE_Q15_BLOCKS_8 TE_Q15_BLOCKS_4 TE_Q15_BLOCKS_4
#define TE_Q15_BLOCKS_10 TE_Q15_BLOCKS_8 TE_Q15_BLOCKS_2
#define TE_Q15_BLOCKS_16 TE_Q15_BLOCKS_8 TE_Q15_BLOCKS_8

/* te_pairs_asm's operands: the registers of TE_Q15_REGS, the accumulators, the run pointer in r7 (the
 * blocks' T while it is pushed). */
#define TE_PAIRS_OPERANDS                                                                                  \
    : [c00] "=&r"(c00), [c01] "=&r"(c01), [c10] "=&r"(c10), [c11] "=&r"(c11), [v] "=&r"(v), [w] "+r"(wr),      \
      [n] "=&r"(n), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3), [wa] "=&r"(wa),           \
      [wb] "=&r"(wb)                                                                                           \
    : [r] "r"(r)                                                                                               \
    : "cc", "memory"

/* TE_PAIRS_ASM's values: q15 columns (te_conv_q15) or int8 inputs sign-extended on the fly (te_conv_1x1_fast,
 * q15 0); wide (q15 only): the output offset is added after the shift (r up to 31), else folded into the high
 * word (r up to 23). Returns w past the pairs' weights. */
TE_ALWAYS_INLINE const int8_t *te_pairs_asm(te_pairs_run *run, const int8_t *w, const int q15, const int wide,
                                            const int smml) {
    TE_Q15_REGS;
    register uint32_t c00 __asm("r8"), c01 __asm("r9"), c10 __asm("r10"), c11 __asm("r11");
    register uint32_t v __asm("r4"), n __asm("lr");
    register te_pairs_run *r __asm("r7") = run;
    register const int8_t *wr __asm("r12") = w;
#define TE_WIDE_PRE "ldr %[n], [%[r], #36]\n\t"
#define TE_WIDE_POST "add %[wb], %[wb], %[n]\n\t"
#define TE_1X1_INPUTS "ldr %[wb], [%[r], #40]\n\t"
/* TE_PAIRS_ASM's heads: one LDM (bias, inputs, blocks), or for te_conv_1x1_fast single loads, which pipeline
 * with pixel 1's (an LDM there would cost the cycle model one more cycle) */
#define TE_LDM_HEAD "ldmia %[r], {%[v0], %[v], %[n]}\n\t"
#define TE_1X1_HEAD "ldr %[v], [%[r], #4]\n\t" "ldr %[n], [%[r], #8]\n\t" TE_1X1_INPUTS "ldr %[v0], [%[r]]\n\t"
    if (q15 && wide) {
        __asm volatile(TE_PAIRS_ASM(TE_LDM_HEAD, TE_Q15_BLOCK_ASM, TE_WIDE_PRE, TE_WIDE_POST) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 2) {  /* small depths: the blocks written out */
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_2) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 4) {
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_4) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 6) {
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_6) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 7) {  /* a 3x3 convolution of 3 channels (a first layer) */
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_7) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 8) {
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_8) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 10) {  /* a 10x4 kernel over 1 channel (DS-CNN's first layer) */
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_10) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && run->blocks == 16) {  /* 64 input channels: MobileNets' and DS-CNNs' 1x1 */
        __asm volatile(TE_PAIRS_SMML_FIXED_ASM(TE_Q15_BLOCKS_16) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && (run->blocks & 3) == 0) {  /* a multiple of 4: quartered for the loop */
        run->blocks >>= 2;
        __asm volatile(TE_PAIRS_SMML_ASM("", TE_Q15_BLOCK_ASM, 2) TE_PAIRS_OPERANDS);
    } else if (q15 && smml && (run->blocks & 1) == 0) {  /* the block count even: halved for the loop */
        run->blocks >>= 1;
        __asm volatile(TE_PAIRS_SMML_ASM("", TE_Q15_BLOCK_ASM, 1) TE_PAIRS_OPERANDS);
    } else if (q15 && smml) {
        __asm volatile(TE_PAIRS_SMML_ASM("", TE_Q15_BLOCK_ASM, 0) TE_PAIRS_OPERANDS);
    } else if (smml && (run->blocks & 1) == 0) {
        run->blocks >>= 1;
        __asm volatile(TE_PAIRS_SMML_ASM(TE_1X1_INPUTS, TE_PAIRS_1X1_BLOCK_ASM, 1) TE_PAIRS_OPERANDS);
    } else if (smml) {
        __asm volatile(TE_PAIRS_SMML_ASM(TE_1X1_INPUTS, TE_PAIRS_1X1_BLOCK_ASM, 0) TE_PAIRS_OPERANDS);
    } else if (q15) {
        __asm volatile(TE_PAIRS_ASM(TE_LDM_HEAD, TE_Q15_BLOCK_ASM, "", "") TE_PAIRS_OPERANDS);
    } else {  /* te_conv_1x1_fast: the offset folded (te_conv_mode's TE_RQ_FAST_FULL) */
        (void)wide;
        __asm volatile(TE_PAIRS_ASM(TE_1X1_HEAD, TE_PAIRS_1X1_BLOCK_ASM, "", "") TE_PAIRS_OPERANDS);
    }
#undef TE_1X1_HEAD
#undef TE_LDM_HEAD
#undef TE_1X1_INPUTS
#undef TE_WIDE_POST
#undef TE_WIDE_PRE
    return wr;
}
#undef TE_PAIRS_OPERANDS
#undef TE_PAIRS_ASM
#undef TE_PAIRS_SMML_ASM
#undef TE_PAIRS_SMML_FIXED_ASM
#undef TE_PAIRS_SMML_TAIL_ASM
#undef TE_PAIRS_QUANT_LOADS_ASM
#undef TE_Q15_BLOCK_N
#undef TE_Q15_BLOCKS_2
#undef TE_Q15_BLOCKS_4
#undef TE_Q15_BLOCKS_6
#undef TE_Q15_BLOCKS_7
#undef TE_Q15_BLOCKS_8
#undef TE_Q15_BLOCKS_10
#undef TE_Q15_BLOCKS_16
#undef TE_SMML_START_0
#undef TE_SMML_START_1
#undef TE_SMML_ODD_0
#undef TE_SMML_ODD_1
#undef TE_SMML_START_2
#undef TE_SMML_ODD_2
#undef TE_SMML_TRIP_0
#undef TE_SMML_TRIP_1
#undef TE_SMML_TRIP_2
#undef TE_PAIRS_TRIPS_AND_QUANT_ASM
#undef TE_Q15_OUT_SMML_ASM
#undef TE_PAIRS_1X1_BLOCK_ASM
#undef TE_Q15_CHANNEL_ASM
#undef TE_Q15_OUT_ASM
#undef TE_Q15_REGS
#undef TE_Q15_BLOCKS_ASM
#undef TE_Q15_BLOCK_ASM
#undef TE_MAC_2X2_BLOCK_ASM
#endif

/* acc += two pixels' depth-long int8 vectors (x0, x1) times one packed channel pair (w). The DSP path
 * sign-extends four int8 values into two registers of int16 pairs (SXTB16 on bytes 0/2 and 1/3): the same
 * byte order for inputs and weights, so SMLAD multiplies matching elements. */
TE_ALWAYS_INLINE void te_mac_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w, int32_t depth,
                                 te_acc2x2 *acc) {
    int32_t a00 = acc->a00, a01 = acc->a01, a10 = acc->a10, a11 = acc->a11;
#if TE_CONV_ASM
    te_mac_2x2_blocks_asm(&x0, &x1, &w, depth >> 2, &a00, &a01, &a10, &a11);
#elif TE_DSP
    int32_t blocks = depth >> 2;
#define TE_MAC_2X2_BLOCK                                                                                       \
    do {                                                                                                       \
        const uint32_t xa = te_load_u32(x0), xb = te_load_u32(x1);                                             \
        const uint32_t xa0 = te_sxtb16(xa), xa1 = te_sxtb16_hi(xa);                                            \
        const uint32_t xb0 = te_sxtb16(xb), xb1 = te_sxtb16_hi(xb);                                            \
        uint32_t wv = te_load_u32(w);                                                                          \
        uint32_t w0 = te_sxtb16(wv), w1 = te_sxtb16_hi(wv);                                                    \
        a00 = te_smlad(xa1, w1, te_smlad(xa0, w0, a00));                                                       \
        a10 = te_smlad(xb1, w1, te_smlad(xb0, w0, a10));                                                       \
        wv = te_load_u32(w + 4);                                                                               \
        w0 = te_sxtb16(wv);                                                                                    \
        w1 = te_sxtb16_hi(wv);                                                                                 \
        a01 = te_smlad(xa1, w1, te_smlad(xa0, w0, a01));                                                       \
        a11 = te_smlad(xb1, w1, te_smlad(xb0, w0, a11));                                                       \
        x0 += 4;                                                                                               \
        x1 += 4;                                                                                               \
        w += 8;                                                                                                \
    } while (0)
    for (; blocks > 0; --blocks) {
        TE_MAC_2X2_BLOCK;
    }
#undef TE_MAC_2X2_BLOCK
#else
    for (int32_t blocks = depth >> 2; blocks > 0; --blocks, x0 += 4, x1 += 4, w += 8) {
        const int32_t p0 = x0[0], p1 = x0[1], p2 = x0[2], p3 = x0[3];
        const int32_t q0 = x1[0], q1 = x1[1], q2 = x1[2], q3 = x1[3];
        const int32_t f0 = w[0], f1 = w[1], f2 = w[2], f3 = w[3], g0 = w[4], g1 = w[5], g2 = w[6], g3 = w[7];
        a00 += p0 * f0 + p1 * f1 + p2 * f2 + p3 * f3;
        a01 += p0 * g0 + p1 * g1 + p2 * g2 + p3 * g3;
        a10 += q0 * f0 + q1 * f1 + q2 * f2 + q3 * f3;
        a11 += q0 * g0 + q1 * g1 + q2 * g2 + q3 * g3;
    }
#endif
    for (int32_t k = 0; k < (depth & 3); ++k) {
        const int32_t p = x0[k], q = x1[k], f = w[k], g = w[4 + k];
        a00 += p * f;
        a01 += p * g;
        a10 += q * f;
        a11 += q * g;
    }
    acc->a00 = a00;
    acc->a01 = a01;
    acc->a10 = a10;
    acc->a11 = a11;
}

/* The one-pixel form of te_mac_2x2 (a last odd pixel, a single fully-connected row): acc->a00 / a01. */
TE_ALWAYS_INLINE void te_mac_1x2(const int8_t *x0, const int8_t *w, int32_t depth, te_acc2x2 *acc) {
    int32_t a00 = acc->a00, a01 = acc->a01;
    for (int32_t blocks = depth >> 2; blocks > 0; --blocks) {
#if TE_DSP
        const uint32_t xa = te_load_u32(x0);
        const uint32_t xa0 = te_sxtb16(xa), xa1 = te_sxtb16_hi(xa);
        const uint32_t wa = te_load_u32(w), wb = te_load_u32(w + 4);
        a00 = te_smlad(xa1, te_sxtb16_hi(wa), te_smlad(xa0, te_sxtb16(wa), a00));
        a01 = te_smlad(xa1, te_sxtb16_hi(wb), te_smlad(xa0, te_sxtb16(wb), a01));
#else
        for (int32_t k = 0; k < 4; ++k) {
            a00 += x0[k] * w[k];
            a01 += x0[k] * w[4 + k];
        }
#endif
        x0 += 4;
        w += 8;
    }
    for (int32_t k = 0; k < (depth & 3); ++k) {
        a00 += x0[k] * w[k];
        a01 += x0[k] * w[4 + k];
    }
    acc->a00 = a00;
    acc->a01 = a01;
}

typedef struct {
    const int32_t *bias;
    te_per_channel_quant_params quant;
    int32_t output_offset, act_min, act_max;
    int32_t per_channel, double_rounding;   /* fully connected only (convolutions: per channel, twice) */
    int32_t smml;                           /* te_conv_q15: te_smml_fits holds */
} te_requant;

/* How te_gemm_pixels requantizes: the convolutions' double rounding (generic, or through te_quant_fast where
 * every channel fits, then with the activation's clamp or the whole int8 range), or the fully-connected kernel's
 * own parameters. A constant at each call site. te_conv2d_s8_q15 also has TE_RQ_WIDE_FULL: te_quant_fast with
 * the output offset added after the shift (te_quant_fast_fits_wide), the whole int8 range. */
enum { TE_RQ_CONV, TE_RQ_FC, TE_RQ_FAST, TE_RQ_FAST_FULL, TE_RQ_WIDE_FULL };

#if TE_CONV_FAST
/* Whether te_quant_fast serves every channel (it does for the multipliers TFLite models carry). */
static int te_quant_fast_all(const int32_t *mult, const int32_t *shift, int32_t channels, int32_t output_offset) {
    for (int32_t c = 0; c < channels; ++c) {
        if (!te_quant_fast_fits(mult[c], shift[c], output_offset)) {
            return 0;
        }
    }
    return 1;
}
#endif

#if TE_CONV_FAST && TE_DSP
/* Whether te_quant_fast with the offset added after the shift serves every channel (te_conv2d_s8_q15). */
static int te_quant_fast_wide_all(const int32_t *mult, const int32_t *shift, int32_t channels) {
    for (int32_t c = 0; c < channels; ++c) {
        if (!te_quant_fast_fits_wide(mult[c], shift[c])) {
            return 0;
        }
    }
    return 1;
}
#endif

/* How a convolution requantizes: te_quant_fast in speed builds where every channel fits it, with a
 * single saturation where the activation is the whole int8 range; else the generic form. */
TE_ALWAYS_INLINE int te_conv_mode(const te_conv_params *p, const int32_t *mult, const int32_t *shift) {
#if TE_CONV_FAST
    if (te_quant_fast_all(mult, shift, p->output.c, p->output_offset)) {
        return p->activation.min == -128 && p->activation.max == 127 ? TE_RQ_FAST_FULL : TE_RQ_FAST;
    }
#else
    (void)p, (void)mult, (void)shift;
#endif
    return TE_RQ_CONV;
}



/* te_quant_fast's value plus `post` (the output offset where f does not hold it), clamped to the activation
 * (full: the whole int8 range, one saturation). */
TE_ALWAYS_INLINE int8_t te_quant_fast_output(te_quant_fast f, int32_t acc, int32_t lo, int32_t hi, const int full,
                                             int32_t post) {
    const int32_t v = te_quant_fast_scale(f, acc) + post;
    return (int8_t)(full ? te_sat_s8(v) : te_clamp(v, lo, hi));
}

TE_ALWAYS_INLINE int8_t te_requant_one(const te_requant *q, int32_t acc, int32_t ch, const int mode) {
    if (mode == TE_RQ_FAST || mode == TE_RQ_FAST_FULL) {
        return te_quant_fast_output(
            te_quant_fast_channel(q->quant.multiplier[ch], q->quant.shift[ch], q->output_offset), acc, q->act_min,
            q->act_max, mode == TE_RQ_FAST_FULL, 0);
    }
    if (mode == TE_RQ_CONV) {
        const te_quant_ch qc = te_quant_channel(q->quant.multiplier[ch], q->quant.shift[ch]);
        return te_quant_output(&qc, acc, q->output_offset, q->act_min, q->act_max);
    }
    const int32_t k = q->per_channel ? ch : 0;
    const int32_t m = q->quant.multiplier[k], s = q->quant.shift[k];
    const int32_t scaled = q->double_rounding ? te_multiply_by_quantized_multiplier(acc, m, s)
                                              : te_multiply_by_quantized_multiplier_single(acc, m, s);
    return (int8_t)te_clamp(scaled + q->output_offset, q->act_min, q->act_max);
}

TE_ALWAYS_INLINE void te_gemm_pixels(const int8_t *x0, const int8_t *x1, int32_t depth, int32_t channels,
                                     const int8_t *w, const te_requant *q, const int mode, int8_t *out0,
                                     int8_t *out1) {
    const int32_t pair_bytes = 2 * te_pad4(depth);
    for (int32_t oc = 0; oc < channels; oc += 2, w += pair_bytes) {
        const int two = oc + 1 < channels;
        const int32_t b0 = q->bias[oc], b1 = two ? q->bias[oc + 1] : 0;
        te_acc2x2 acc = {b0, b1, b0, b1};
        if (x1 != NULL) {
            te_mac_2x2(x0, x1, w, depth, &acc);
            out1[oc] = te_requant_one(q, acc.a10, oc, mode);
            if (two) {
                out1[oc + 1] = te_requant_one(q, acc.a11, oc + 1, mode);
            }
        } else {
            te_mac_1x2(x0, w, depth, &acc);
        }
        out0[oc] = te_requant_one(q, acc.a00, oc, mode);
        if (two) {
            out0[oc + 1] = te_requant_one(q, acc.a01, oc + 1, mode);
        }
    }
}

static te_requant te_conv_requant(const te_conv_params *p, const int32_t *bias, const int32_t *mult,
                                  const int32_t *shift) {
    const te_requant q = {bias, {mult, shift}, p->output_offset, p->activation.min, p->activation.max, 1, 1, 0};
    return q;
}

#if TE_CONV_FAST
#if TE_DSP
static TE_NOINLINE void te_q15_run(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                   const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                   int8_t *scratch, int32_t pixels);
#endif

/* The scratch-less kernels' leading pixels through te_conv2d_s8_q15's DSP path (speed builds): its scratch is
 * taken from the output's tail, which is written last, so the pixel pairs whose outputs end before it run
 * there; returns how many pixels ran (even; 0 without the DSP path, where the output is too short, or where a
 * channel pair's depth times the channels is under 128: there, measured on the Cortex-M4 cycle model, the
 * column expansion costs more than it saves; since the short depths run written out (TE_PAIRS_SMML_FIXED_ASM),
 * 8 channels into 16 gain: mlperf_vww_96_int8's 48x48 layer 920k -> 835k instructions). The output must not
 * overlap the input (te_conv.h). */
TE_ALWAYS_INLINE int32_t te_q15_lead(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output) {
#if TE_DSP
    const int32_t pixels = p->output.h * p->output.w, out_c = p->output.c;
    const int32_t bytes = pixels * out_c, need = te_conv2d_s8_q15_get_buffer_size(p);
    if (bytes < need + 2 * out_c + 3 || te_pad4(p->kernel.h * p->kernel.w * p->input.c) * out_c < 128) {
        return 0;
    }
    /* the scratch at the last word-aligned address with `need` bytes before the output's end */
    const uintptr_t end = (uintptr_t)(output + bytes);
    int8_t *scratch = output + (int32_t)(((end - (uintptr_t)need) & ~(uintptr_t)3) - (uintptr_t)output);
    const int32_t lead = (int32_t)(scratch - output) / out_c & ~1;
    if (lead >= 2) {
        te_q15_run(p, input, filter, bias, mult, shift, output, scratch, lead);
    }
    return lead;
#else
    (void)p, (void)input, (void)filter, (void)bias, (void)mult, (void)shift, (void)output;
    return 0;
#endif
}
#endif

/* Channel pairs outside, pixels inside: the pair's requantization parameters are set up once. C4 is 1 when
 * input.c is a multiple of 4 and output.c even (a constant at each call site: no depth tail, no odd channel). */
TE_ALWAYS_INLINE void te_conv_1x1(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  const int C4) {
    const int32_t pixels = p->output.h * p->output.w, out_c = p->output.c;
    const int32_t depth = C4 ? p->input.c & ~3 : p->input.c;
    const int32_t off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
    const int8_t *w = filter;
    for (int32_t oc = 0; oc < out_c; oc += 2, w += 2 * te_pad4(depth)) {
        const int two = C4 || oc + 1 < out_c;
        const te_quant_ch q0 = te_quant_channel(mult[oc], shift[oc]);
        const te_quant_ch q1 = te_quant_channel(mult[oc + two], shift[oc + two]);
        const int32_t b0 = bias[oc], b1 = two ? bias[oc + 1] : 0;
        const int8_t *x = input;
        int8_t *out = output + oc;
        int32_t px = 0;
        for (; px + 2 <= pixels; px += 2, x += 2 * depth, out += 2 * out_c) {
            te_acc2x2 acc = {b0, b1, b0, b1};
            te_mac_2x2(x, x + depth, w, depth, &acc);
            out[0] = te_quant_output(&q0, acc.a00, off, lo, hi);
            out[out_c] = te_quant_output(&q0, acc.a10, off, lo, hi);
            if (two) {
                out[1] = te_quant_output(&q1, acc.a01, off, lo, hi);
                out[out_c + 1] = te_quant_output(&q1, acc.a11, off, lo, hi);
            }
        }
        if (px < pixels) {
            te_acc2x2 acc = {b0, b1, b0, b1};
            te_mac_1x2(x, w, depth, &acc);
            out[0] = te_quant_output(&q0, acc.a00, off, lo, hi);
            if (two) {
                out[1] = te_quant_output(&q1, acc.a01, off, lo, hi);
            }
        }
    }
}

#if TE_CONV_FAST
/* The speed path of te_conv2d_1x1_s8_c4: pixel pairs outside, channel pairs inside, so that a tile's
 * requantization constants come from its channel's multiplier and shift in a few instructions
 * (te_quant_fast_channel) instead of staying live across the pixel loop. FULL: the activation is the whole
 * int8 range (one saturation). */
TE_ALWAYS_INLINE void te_conv_1x1_fast(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                       int8_t *output, int32_t px0, const int FULL) {
    const int32_t pixels = p->output.h * p->output.w, out_c = p->output.c, depth = p->input.c & ~3;
    const int32_t off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
#define TE_1X1_OUT(f, v) \
    (int8_t)(FULL ? te_sat_s8(te_quant_fast_scale(f, v)) : te_clamp(te_quant_fast_scale(f, v), lo, hi))
#if TE_CONV_ASM
    const int smml = FULL && te_smml_fits(bias, mult, shift, out_c, depth, off);
#endif
    for (int32_t px = px0; px < pixels; px += 2) {
        const int8_t *x0 = input + px * depth;
        int8_t *out = output + px * out_c;
        const int8_t *w = filter;
        if (px + 1 < pixels) {
#if TE_CONV_ASM
            if (FULL) {  /* the whole run of channel pairs in assembly */
                te_pairs_run r = {bias, x0, depth / 4, mult, shift, out, out_c, out + out_c, 2 * off + 1, off,
                                  x0 + depth, out + out_c};
                if (smml) {
                    te_pairs_asm(&r, w, 0, 0, 1);
                } else {
                    te_pairs_asm(&r, w, 0, 0, 0);
                }
                continue;
            }
#endif
            for (int32_t oc = 0; oc < out_c; oc += 2, w += 2 * depth) {
                te_acc2x2 acc = {bias[oc], bias[oc + 1], bias[oc], bias[oc + 1]};
                te_mac_2x2(x0, x0 + depth, w, depth, &acc);
                const te_quant_fast f0 = te_quant_fast_channel(mult[oc], shift[oc], off);
                out[oc] = TE_1X1_OUT(f0, acc.a00);
                out[out_c + oc] = TE_1X1_OUT(f0, acc.a10);
                const te_quant_fast f1 = te_quant_fast_channel(mult[oc + 1], shift[oc + 1], off);
                out[oc + 1] = TE_1X1_OUT(f1, acc.a01);
                out[out_c + oc + 1] = TE_1X1_OUT(f1, acc.a11);
            }
        } else {
            for (int32_t oc = 0; oc < out_c; oc += 2, w += 2 * depth) {
                te_acc2x2 acc = {bias[oc], bias[oc + 1], 0, 0};
                te_mac_1x2(x0, w, depth, &acc);
                out[oc] = TE_1X1_OUT(te_quant_fast_channel(mult[oc], shift[oc], off), acc.a00);
                out[oc + 1] = TE_1X1_OUT(te_quant_fast_channel(mult[oc + 1], shift[oc + 1], off), acc.a01);
            }
        }
    }
#undef TE_1X1_OUT
}
#endif

void te_conv2d_1x1_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output) {
    te_conv_1x1(p, input, filter, bias, mult, shift, output, 0);
}

#if TE_CONV_FAST
/* te_conv_1x1_fast from pixel px0 (even) on. */
static TE_NOINLINE void te_conv_1x1_fast_from(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                              const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                              int8_t *output, int32_t px0, int full) {
    if (full) {
        te_conv_1x1_fast(p, input, filter, bias, mult, shift, output, px0, 1);
    } else {
        te_conv_1x1_fast(p, input, filter, bias, mult, shift, output, px0, 0);
    }
}
#endif

/* te_conv_1x1 with C4 (a call of its own: te_conv2d_1x1_s8_c4's frame stays small under te_q15_lead's). */
static TE_NOINLINE void te_conv_1x1_c4_generic(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                               const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                               int8_t *output) {
    te_conv_1x1(p, input, filter, bias, mult, shift, output, 1);
}

void te_conv2d_1x1_s8_c4(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, int8_t *output) {
#if TE_CONV_FAST
    const int mode = te_conv_mode(p, mult, shift);
    if (mode != TE_RQ_CONV) {
        /* two calls in turn, so that their frames do not stack up */
        const int32_t px0 = te_q15_lead(p, input, filter, bias, mult, shift, output);
        te_conv_1x1_fast_from(p, input, filter, bias, mult, shift, output, px0, mode == TE_RQ_FAST_FULL);
        return;
    }
#endif
    te_conv_1x1_c4_generic(p, input, filter, bias, mult, shift, output);
}

int32_t te_conv2d_s8_get_buffer_size(const te_conv_params *p) {
    return 2 * te_pad4(p->kernel.h * p->kernel.w * p->input.c);
}

#if TE_CONV_FAST
/* n bytes from src to dst, a word at a time. */
TE_ALWAYS_INLINE void te_copy_run(const int8_t *src, int8_t *dst, int32_t n) {
    int32_t c = 0;
    for (; c + 4 <= n; c += 4) {
        const uint32_t v = te_load_u32(src + c);
        memcpy(dst + c, &v, sizeof v);
    }
    for (; c < n; ++c) {
        dst[c] = src[c];
    }
}
#endif

/* Gather the receptive field of output pixel px into col (depth values), padding with the input zero point. A
 * kernel row inside the input (dilation 1) is one run of kernel.w * input.c bytes, copied a word at a time. */
static void te_im2col(const te_conv_params *p, const int8_t *input, int32_t px, int8_t *col) {
    const int32_t iy0 = (px / p->output.w) * p->stride.h - p->padding.h;
    const int32_t ix0 = (px % p->output.w) * p->stride.w - p->padding.w;
    const int8_t pad = (int8_t)(-p->input_offset);
#if TE_CONV_FAST
    const int32_t run = p->kernel.w * p->input.c;
    const int whole = p->dilation.w == 1 && ix0 >= 0 && ix0 + p->kernel.w <= p->input.w;
#endif
    for (int32_t ky = 0; ky < p->kernel.h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation.h;
#if TE_CONV_FAST
        if (whole && iy >= 0 && iy < p->input.h) {
            te_copy_run(input + (iy * p->input.w + ix0) * p->input.c, col, run);
            col += run;
            continue;
        }
#endif
        for (int32_t kx = 0; kx < p->kernel.w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation.w;
            if (iy < 0 || iy >= p->input.h || ix < 0 || ix >= p->input.w) {
                for (int32_t c = 0; c < p->input.c; ++c) {
                    *col++ = pad;
                }
            } else {
                const int8_t *src = input + (iy * p->input.w + ix) * p->input.c;
                for (int32_t c = 0; c < p->input.c; ++c) {
                    *col++ = src[c];
                }
            }
        }
    }
}

#if TE_CONV_FAST
/* The first input byte of output pixel (oy, ox)'s window where it lies inside the input with dilation 1 in x
 * (each kernel row one run of kernel.w * input.c bytes), else NULL. */
TE_ALWAYS_INLINE const int8_t *te_window_inside(const te_conv_params *p, const int8_t *input, int32_t oy,
                                                int32_t ox) {
    const int32_t iy0 = oy * p->stride.h - p->padding.h, ix0 = ox * p->stride.w - p->padding.w;
    const int inside = p->dilation.w == 1 && iy0 >= 0 && iy0 + (p->kernel.h - 1) * p->dilation.h < p->input.h &&
                       ix0 >= 0 && ix0 + p->kernel.w <= p->input.w;
    return inside ? input + (iy0 * p->input.w + ix0) * p->input.c : NULL;
}

/* The first input bytes of pixels px0 and px1 (px0 or px0 + 1)'s windows (*s0, *s1) where both lie inside the
 * input (te_window_inside); 0 where one reaches the border. */
TE_ALWAYS_INLINE int te_pair_windows(const te_conv_params *p, const int8_t *input, int32_t px0, int32_t px1,
                                     const int8_t **s0, const int8_t **s1) {
    const int32_t oy0 = px0 / p->output.w, ox0 = px0 - oy0 * p->output.w;
    const int next_row = px1 != px0 && ox0 + 1 == p->output.w;
    *s0 = te_window_inside(p, input, oy0, ox0);
    *s1 = te_window_inside(p, input, oy0 + next_row, next_row ? 0 : ox0 + (px1 - px0));
    return *s0 != NULL && *s1 != NULL;
}

/* Two inside windows (te_pair_windows) as int8 columns c0 and c1, row by row: both rows a word at a time, the
 * last word ending at the row's end (it may rewrite a few bytes of it); rows shorter than a word bytewise. */
TE_ALWAYS_INLINE void te_copy_windows(const te_conv_params *p, const int8_t *s0, const int8_t *s1, int8_t *c0,
                                      int8_t *c1) {
    const int32_t run = p->kernel.w * p->input.c, row = p->dilation.h * p->input.w * p->input.c;
    for (int32_t k = 0; k < p->kernel.h * run; k += run, s0 += row, s1 += row) {
        if (run < 4) {
            te_copy_run(s0, c0 + k, run);
            te_copy_run(s1, c1 + k, run);
            continue;
        }
        for (int32_t c = 0;; c += 4) {
            const int32_t at = c + 4 < run ? c : run - 4;
            const uint32_t a = te_load_u32(s0 + at), b = te_load_u32(s1 + at);
            memcpy(c0 + k + at, &a, sizeof a);
            memcpy(c1 + k + at, &b, sizeof b);
            if (at == run - 4) {
                break;
            }
        }
    }
}
#endif

TE_ALWAYS_INLINE void te_conv_im2col(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                     const te_requant *q, int8_t *output, int8_t *scratch, int32_t px0,
                                     const int mode) {
    const int32_t depth = p->kernel.h * p->kernel.w * p->input.c, pixels = p->output.h * p->output.w;
    const int32_t out_c = p->output.c;
    /* the columns' padding to a multiple of 4 meets zero weights: zero it once, multiply whole blocks */
    const int32_t depth4 = te_pad4(depth);
    int8_t *col0 = scratch, *col1 = scratch + depth4;
    for (int32_t k = depth; k < depth4; ++k) {
        col0[k] = col1[k] = 0;
    }
#if TE_CONV_ASM
    /* te_pairs_asm's SMMLAR requantization where it is exact for every channel (te_smml_fits) */
    const int smml = mode == TE_RQ_FAST_FULL && out_c % 2 == 0 &&
                     te_smml_fits(q->bias, q->quant.multiplier, q->quant.shift, out_c, depth4,
                                       q->output_offset);
#endif
    int32_t px = px0;
    for (; px + 2 <= pixels; px += 2) {
#if TE_CONV_FAST
        const int8_t *s0, *s1;
        if (te_pair_windows(p, input, px, px + 1, &s0, &s1)) {
            te_copy_windows(p, s0, s1, col0, col1);
        } else
#endif
        {
            te_im2col(p, input, px, col0);
            te_im2col(p, input, px + 1, col1);
        }
        int8_t *out = output + px * out_c;
#if TE_CONV_ASM
        if (mode == TE_RQ_FAST_FULL && out_c % 2 == 0) {  /* the channel pairs in assembly, as te_conv_1x1_fast */
            te_pairs_run r = {q->bias, col0, depth4 / 4, q->quant.multiplier, q->quant.shift, out, out_c,
                              out + out_c, 2 * q->output_offset + 1, q->output_offset, col1, out + out_c};
            if (smml) {
                te_pairs_asm(&r, filter, 0, 0, 1);
            } else {
                te_pairs_asm(&r, filter, 0, 0, 0);
            }
            continue;
        }
#endif
        te_gemm_pixels(col0, col1, depth4, out_c, filter, q, mode, out, out + out_c);
    }
    if (px < pixels) {
        te_im2col(p, input, px, col0);
        te_gemm_pixels(col0, NULL, depth4, out_c, filter, q, mode, output + px * out_c, NULL);
    }
}

/* te_conv2d_s8 from pixel px0 (even) on. */
static TE_NOINLINE void te_conv2d_s8_from(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                          int8_t *output, int8_t *scratch, int32_t px0) {
    const te_requant q = te_conv_requant(p, bias, mult, shift);
    switch (te_conv_mode(p, mult, shift)) {   /* each mode a constant for its inlined copy */
    case TE_RQ_FAST_FULL: te_conv_im2col(p, input, filter, &q, output, scratch, px0, TE_RQ_FAST_FULL); break;
    case TE_RQ_FAST: te_conv_im2col(p, input, filter, &q, output, scratch, px0, TE_RQ_FAST); break;
    default: te_conv_im2col(p, input, filter, &q, output, scratch, px0, TE_RQ_CONV); break;
    }
}

void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    /* two calls in turn, so that their frames do not stack up */
#if TE_CONV_FAST
    const int32_t px0 = te_q15_lead(p, input, filter, bias, mult, shift, output);
#else
    const int32_t px0 = 0;
#endif
    te_conv2d_s8_from(p, input, filter, bias, mult, shift, output, scratch, px0);
}

int32_t te_conv2d_s8_q15_get_buffer_size(const te_conv_params *p) {
    const int32_t depth4 = te_pad4(p->kernel.h * p->kernel.w * p->input.c);
    return p->input.c % 4 == 0 ? 4 * depth4 : 6 * depth4;
}

#if TE_DSP
/* Im2col of output pixel px straight into SMLAD operands, in_c a multiple of 4: depth block b (4 values) goes
 * to col[4 * b + lane] (bytes 0 and 2) and col[4 * b + lane + 1] (bytes 1 and 3); lane 0 for the first pixel
 * of a pair, 2 for the second. Padding is the zero point. */
static void te_im2col_q15(const te_conv_params *p, const int8_t *input, int32_t px, uint32_t *col, int32_t lane) {
    const int32_t iy0 = (px / p->output.w) * p->stride.h - p->padding.h;
    const int32_t ix0 = (px % p->output.w) * p->stride.w - p->padding.w;
    const uint32_t pad = te_sxtb16((uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u);
    const int32_t in_c = p->input.c;
    col += lane;
    for (int32_t ky = 0; ky < p->kernel.h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation.h;
        for (int32_t kx = 0; kx < p->kernel.w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation.w;
            if (iy < 0 || iy >= p->input.h || ix < 0 || ix >= p->input.w) {
                for (int32_t c = 0; c < in_c; c += 4, col += 4) {
                    col[0] = col[1] = pad;
                }
            } else {
                const int8_t *src = input + (iy * p->input.w + ix) * in_c;
                for (int32_t c = 0; c < in_c; c += 4, col += 4) {
                    const uint32_t v = te_load_u32(src + c);
                    col[0] = te_sxtb16(v);
                    col[1] = te_sxtb16_hi(v);
                }
            }
        }
    }
}
#endif


#if TE_DSP && TE_CONV_FAST
/* One q15 block (4 depth values of pixel 0 from word a, of pixel 1 from word b) into col[0..3]. */
TE_ALWAYS_INLINE void te_q15_block_put(uint32_t a, uint32_t b, uint32_t *col) {
    col[0] = te_sxtb16(a);
    col[1] = te_sxtb16_hi(a);
    col[2] = te_sxtb16(b);
    col[3] = te_sxtb16_hi(b);
}

/* Two int8 columns c0, c1 of depth4 values (a multiple of 4) sign-extended into the q15 layout. */
static void te_expand_q15(const int8_t *c0, const int8_t *c1, int32_t depth4, uint32_t *col) {
    for (int32_t k = 0; k < depth4; k += 4, col += 4) {
        te_q15_block_put(te_load_u32(c0 + k), te_load_u32(c1 + k), col);
    }
}

/* Any input.c: both pixels' columns as int8 (te_im2col; te_conv_q15 zeroed their padding to a multiple of 4)
 * after the q15 columns, then sign-extended into them block by block. */
static void te_im2col_q15_any(const te_conv_params *p, const int8_t *input, int32_t px0, int32_t px1,
                              uint32_t *col) {
    const int32_t depth4 = te_pad4(p->kernel.h * p->kernel.w * p->input.c);
    int8_t *c0 = (int8_t *)(void *)(col + depth4), *c1 = c0 + depth4;
    te_im2col(p, input, px0, c0);
    te_im2col(p, input, px1, c1);
    te_expand_q15(c0, c1, depth4, col);
}

/* Depth values [4 k, 4 k + 4) of a 3x3 window over 3 channels (kernel rows of 9 bytes, rs apart; the 28th value
 * is padding, 0), as one word, from loads that stay inside the window's rows. */
TE_ALWAYS_INLINE uint32_t te_c3k3_word(const int8_t *s, int32_t rs, const int k) {
    switch (k) {
    case 0: return te_load_u32(s);
    case 1: return te_load_u32(s + 4);
    case 2: return (te_load_u32(s + 5) >> 24) | (te_load_u32(s + rs) << 8);           /* row 0's byte 8, row 1's 0-2 */
    case 3: return te_load_u32(s + rs + 3);
    case 4: return (te_load_u32(s + rs + 5) >> 16) | (te_load_u32(s + 2 * rs) << 16);  /* row 1's 7-8, row 2's 0-1 */
    case 5: return te_load_u32(s + 2 * rs + 2);
    default: return te_load_u32(s + 2 * rs + 5) >> 8;                                   /* row 2's 6-8, padding */
    }
}

/* te_im2col_q15_inside for a 3x3 kernel over 3 channels (an RGB first layer): the 7 blocks written out. */
static void te_im2col_q15_c3k3(const int8_t *s0, const int8_t *s1, int32_t rs, uint32_t *col) {
    TE_UNROLL
    for (int k = 0; k < 7; ++k) {
        te_q15_block_put(te_c3k3_word(s0, rs, k), te_c3k3_word(s1, rs, k), col + 4 * k);
    }
}

/* Pixels px0 and px1 (px0 or px0 + 1)'s q15 columns where both windows lie inside the input (te_pair_windows),
 * row by row: each kernel row sign-extended straight from the input when input.c is a multiple of 4, else
 * copied as int8 after the q15 columns (te_copy_windows, as te_im2col_q15_any) and sign-extended at the end.
 * Returns 0, writing nothing, where a window reaches the border. */
static int te_im2col_q15_inside(const te_conv_params *p, const int8_t *input, int32_t px0, int32_t px1,
                                uint32_t *col) {
    const int8_t *s0, *s1;
    if (!te_pair_windows(p, input, px0, px1, &s0, &s1)) {
        return 0;
    }
    const int32_t run = p->kernel.w * p->input.c, row = p->dilation.h * p->input.w * p->input.c;
    if (p->input.c % 4 == 0) {
        for (int32_t ky = 0; ky < p->kernel.h; ++ky, s0 += row, s1 += row, col += run) {
            te_expand_q15(s0, s1, run, col);
        }
        return 1;
    }
    if (p->input.c == 3 && p->kernel.h == 3 && p->kernel.w == 3) {
        te_im2col_q15_c3k3(s0, s1, row, col);
        return 1;
    }
    const int32_t depth4 = te_pad4(p->kernel.h * run);
    int8_t *c0 = (int8_t *)(void *)(col + depth4), *c1 = c0 + depth4;
    te_copy_windows(p, s0, s1, c0, c1);
    te_expand_q15(c0, c1, depth4, col);
    return 1;
}

#endif

#if TE_DSP
/* One channel pair (oc, oc + 1 where two) of te_conv_q15 for the pixel pair whose q15 columns are col (the
 * second pixel where two_px): out[oc...] and out[out_c + oc...]; returns w past the pair's weights. */
TE_ALWAYS_INLINE const int8_t *te_q15_pair(const uint32_t *col, const int8_t *w, int32_t blocks,
                                           const te_requant *q, int8_t *out, int32_t out_c, int32_t oc,
                                           const int two, const int two_px, const int mode) {
    const int32_t *bias = q->bias, *mult = q->quant.multiplier, *shift = q->quant.shift;
    const int32_t off = q->output_offset, lo = q->act_min, hi = q->act_max;
    const int32_t b0 = bias[oc], b1 = two ? bias[oc + 1] : 0;
    int32_t a00 = b0, a01 = b1, a10 = b0, a11 = b1;
    const uint32_t *v = col;
#if TE_CONV_ASM
    if (mode != TE_RQ_CONV) {
        w = te_q15_blocks_asm(v, w, blocks, &a00, &a01, &a10, &a11);
    } else
#endif
    for (int32_t b = blocks; b > 0; --b, v += 4, w += 8) {
        const uint32_t wa = te_load_u32(w), wb = te_load_u32(w + 4);
        const uint32_t wa0 = te_sxtb16(wa), wa1 = te_sxtb16_hi(wa);
        a00 = te_smlad(v[1], wa1, te_smlad(v[0], wa0, a00));
        a10 = te_smlad(v[3], wa1, te_smlad(v[2], wa0, a10));
        const uint32_t wb0 = te_sxtb16(wb), wb1 = te_sxtb16_hi(wb);
        a01 = te_smlad(v[1], wb1, te_smlad(v[0], wb0, a01));
        a11 = te_smlad(v[3], wb1, te_smlad(v[2], wb0, a11));
    }
    if (mode == TE_RQ_CONV) {  /* each channel's te_quant_ch once (the compact form of size builds) */
        const te_quant_ch q0 = te_quant_channel(mult[oc], shift[oc]);
        out[oc] = te_quant_output(&q0, a00, off, lo, hi);
        if (two_px) {
            out[out_c + oc] = te_quant_output(&q0, a10, off, lo, hi);
        }
        if (two) {
            const te_quant_ch q1 = te_quant_channel(mult[oc + 1], shift[oc + 1]);
            out[oc + 1] = te_quant_output(&q1, a01, off, lo, hi);
            if (two_px) {
                out[out_c + oc + 1] = te_quant_output(&q1, a11, off, lo, hi);
            }
        }
        return w;
    }
    /* te_quant_fast: each channel's constants once, all values before the stores; the offset folded into
     * them, or added after the shift (wide) */
    const int full = mode != TE_RQ_FAST, wide = mode == TE_RQ_WIDE_FULL;
    const int32_t fold = wide ? 0 : off, post = wide ? off : 0;
    const te_quant_fast f0 = te_quant_fast_channel(mult[oc], shift[oc], fold);
    const te_quant_fast f1 = te_quant_fast_channel(mult[oc + two], shift[oc + two], fold);
    const int8_t r00 = te_quant_fast_output(f0, a00, lo, hi, full, post);
    const int8_t r10 = te_quant_fast_output(f0, a10, lo, hi, full, post);
    const int8_t r01 = te_quant_fast_output(f1, a01, lo, hi, full, post);
    const int8_t r11 = te_quant_fast_output(f1, a11, lo, hi, full, post);
    out[oc] = r00;
    if (two_px) {
        out[out_c + oc] = r10;
    }
    if (two) {
        out[oc + 1] = r01;
        if (two_px) {
            out[out_c + oc + 1] = r11;
        }
    }
    return w;
}

/* te_conv2d_s8_q15's DSP path, requantizing as `mode` says (a constant at each call site). */
TE_ALWAYS_INLINE void te_conv_q15(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                  const te_requant *q, int8_t *output, int8_t *scratch, int32_t pixels,
                                  const int mode) {
    const int32_t blocks = te_pad4(p->kernel.h * p->kernel.w * p->input.c) / 4;
    const int32_t out_c = p->output.c;
    const te_requant rq = *q;  /* a local copy: the int8 stores cannot alias it */
    uint32_t *col = (uint32_t *)(void *)scratch;
#if TE_CONV_FAST
    const int pointwise = p->kernel.h == 1 && p->kernel.w == 1 && p->stride.h == 1 && p->stride.w == 1 &&
                          p->padding.h == 0 && p->padding.w == 0 && p->output.w == p->input.w &&
                          p->input.c % 4 == 0;
    if (p->input.c % 4 != 0) {  /* the int8 columns' padding to a multiple of 4 (never written after) */
        const int32_t depth = p->kernel.h * p->kernel.w * p->input.c;
        int8_t *c0 = (int8_t *)(void *)(col + 4 * blocks), *c1 = c0 + 4 * blocks;
        for (int32_t k = depth; k < 4 * blocks; ++k) {
            c0[k] = c1[k] = 0;
        }
    }
#endif
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two_px = px + 1 < pixels;
        const int32_t px1 = two_px ? px + 1 : px;
#if TE_CONV_FAST
        if (pointwise) {  /* a 1x1 convolution's columns are its pixels' inputs: no geometry */
            te_expand_q15(input + px * p->input.c, input + px1 * p->input.c, p->input.c, col);
        } else if (te_im2col_q15_inside(p, input, px, px1, col)) {
            /* both windows inside the input: done row by row */
        } else if (p->input.c % 4 != 0) {
            te_im2col_q15_any(p, input, px, px1, col);
        } else
#endif
        {
            te_im2col_q15(p, input, px, col, 0);
            te_im2col_q15(p, input, px1, col, 2);
        }
        int8_t *out = output + px * out_c;
        const int8_t *w = filter;
        int32_t oc = 0;
#if TE_CONV_FAST  /* whole channel pairs with the pixel count a constant: no store conditions */
        if (two_px) {
#if TE_CONV_ASM
            if ((mode == TE_RQ_FAST_FULL || mode == TE_RQ_WIDE_FULL) && out_c >= 2) {
                const int wide = mode == TE_RQ_WIDE_FULL;
                te_pairs_run r = {rq.bias, col, blocks, rq.quant.multiplier, rq.quant.shift, out, out_c,
                                  out + (out_c & ~1), wide && !rq.smml ? 1 : 2 * rq.output_offset + 1,
                                  rq.output_offset, NULL, out + out_c};
                if (rq.smml) {  /* TE_RQ_FAST_FULL or TE_RQ_WIDE_FULL: te_smml_fits holds */
                    w = te_pairs_asm(&r, w, 1, 0, 1);
                } else {
                    w = te_pairs_asm(&r, w, 1, wide, 0);
                }
                oc = out_c & ~1;
            }
#endif
            for (; oc + 2 <= out_c; oc += 2) {
                w = te_q15_pair(col, w, blocks, &rq, out, out_c, oc, 1, 1, mode);
            }
        } else {
            for (; oc + 2 <= out_c; oc += 2) {
                w = te_q15_pair(col, w, blocks, &rq, out, out_c, oc, 1, 0, mode);
            }
        }
#endif
        for (; oc < out_c; oc += 2) {
            w = te_q15_pair(col, w, blocks, &rq, out, out_c, oc, oc + 1 < out_c, two_px, mode);
        }
    }
}
#endif

#if TE_DSP
/* te_conv2d_s8_q15's DSP path over the first `pixels` output pixels (all of them, or an even count). */
static TE_NOINLINE void te_q15_run(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                   const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                   int8_t *scratch, int32_t pixels) {
    const te_requant q = te_conv_requant(p, bias, mult, shift);
    int mode = te_conv_mode(p, mult, shift);
#if TE_CONV_FAST
    if (mode == TE_RQ_CONV && p->activation.min == -128 && p->activation.max == 127 &&
        te_quant_fast_wide_all(mult, shift, p->output.c)) {
        mode = TE_RQ_WIDE_FULL;
    }
#endif
#if TE_CONV_ASM
    te_requant qs = q;
    qs.smml = (mode == TE_RQ_FAST_FULL || mode == TE_RQ_WIDE_FULL) &&
              te_smml_fits(bias, mult, shift, p->output.c, te_pad4(p->kernel.h * p->kernel.w * p->input.c),
                                p->output_offset);
    const te_requant *qp = &qs;
#else
    const te_requant *qp = &q;
#endif
    switch (mode) {
#if TE_CONV_FAST
    case TE_RQ_WIDE_FULL: te_conv_q15(p, input, filter, qp, output, scratch, pixels, TE_RQ_WIDE_FULL); break;
#endif
    case TE_RQ_FAST_FULL: te_conv_q15(p, input, filter, qp, output, scratch, pixels, TE_RQ_FAST_FULL); break;
    case TE_RQ_FAST: te_conv_q15(p, input, filter, qp, output, scratch, pixels, TE_RQ_FAST); break;
    default: te_conv_q15(p, input, filter, qp, output, scratch, pixels, TE_RQ_CONV); break;
    }
}
#endif

void te_conv2d_s8_q15(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
#if TE_DSP
#if !TE_CONV_FAST
    if (p->input.c % 4 != 0) {  /* size builds: the compact kernel (the scratch is larger than it needs) */
        te_conv2d_s8(p, input, filter, bias, mult, shift, output, scratch);
        return;
    }
#endif
    te_q15_run(p, input, filter, bias, mult, shift, output, scratch, p->output.h * p->output.w);
#else
    /* Without the DSP path a pointwise layer keeps its direct kernel (no im2col copy); the rest is im2col. */
    if (p->kernel.h == 1 && p->kernel.w == 1 && p->stride.h == 1 && p->stride.w == 1 && p->padding.h == 0 &&
        p->padding.w == 0 && p->output.h == p->input.h && p->output.w == p->input.w) {
        if (p->output.c % 2 == 0) {      /* the pointwise q15 variant is only chosen for input.c % 4 == 0 */
            te_conv2d_1x1_s8_c4(p, input, filter, bias, mult, shift, output);
        } else {
            te_conv2d_1x1_s8(p, input, filter, bias, mult, shift, output);
        }
        return;
    }
    te_conv2d_s8(p, input, filter, bias, mult, shift, output, scratch);
#endif
}

void te_fully_connected_s8(const te_fc_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *output) {
    const te_requant q = {bias, {mult, shift}, p->output_offset, p->activation.min, p->activation.max,
                          p->per_channel, p->double_rounding, 0};
    const int32_t depth = p->in_depth, n = p->out_depth;
    int32_t b = 0;
    for (; b + 2 <= p->batches; b += 2) {
        te_gemm_pixels(input + b * depth, input + (b + 1) * depth, depth, n, weights, &q, TE_RQ_FC, output + b * n,
                       output + (b + 1) * n);
    }
    if (b < p->batches) {
        te_gemm_pixels(input + b * depth, NULL, depth, n, weights, &q, TE_RQ_FC, output + b * n, NULL);
    }
}
