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
/* One depth block (4 int8 values) of te_mac_2x2: both pixels' values sign-extended on the fly (SXTB16 on bytes
 * 0/2 and 1/3), each times both channels of the pair; 20 instructions per 16 MACs. */
#define TE_MAC_2X2_BLOCK_ASM                                                                                   \
    "ldr %[xa1], [%[x0]], #4\n\t"                                                                              \
    "ldr %[xb1], [%[x1]], #4\n\t"                                                                              \
    "ldr %[wv], [%[w]], #4\n\t"                                                                                \
    "sxtb16 %[xa0], %[xa1]\n\t"                                                                                \
    "sxtb16 %[xa1], %[xa1], ror #8\n\t"                                                                        \
    "sxtb16 %[xb0], %[xb1]\n\t"                                                                                \
    "sxtb16 %[xb1], %[xb1], ror #8\n\t"                                                                        \
    "sxtb16 %[t], %[wv]\n\t"                                                                                   \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                          \
    "smlad %[c00], %[xa0], %[t], %[c00]\n\t"                                                                   \
    "smlad %[c00], %[xa1], %[wv], %[c00]\n\t"                                                                  \
    "smlad %[c10], %[xb0], %[t], %[c10]\n\t"                                                                   \
    "smlad %[c10], %[xb1], %[wv], %[c10]\n\t"                                                                  \
    "ldr %[wv], [%[w]], #4\n\t"                                                                                \
    "sxtb16 %[t], %[wv]\n\t"                                                                                   \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                          \
    "smlad %[c01], %[xa0], %[t], %[c01]\n\t"                                                                   \
    "smlad %[c01], %[xa1], %[wv], %[c01]\n\t"                                                                  \
    "smlad %[c11], %[xb0], %[t], %[c11]\n\t"                                                                   \
    "smlad %[c11], %[xb1], %[wv], %[c11]\n\t"

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
            TE_MAC_2X2_BLOCK_ASM
            TE_MAC_2X2_BLOCK_ASM
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
            TE_MAC_2X2_BLOCK_ASM
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
} te_requant;

/* How te_gemm_pixels requantizes: the convolutions' double rounding (generic, or through te_quant_fast where
 * every channel fits, then with the activation's clamp or the whole int8 range), or the fully-connected kernel's
 * own parameters. A constant at each call site. */
enum { TE_RQ_CONV, TE_RQ_FC, TE_RQ_FAST, TE_RQ_FAST_FULL };

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


/* te_quant_fast's value clamped to the activation (full: the whole int8 range, one saturation). */
TE_ALWAYS_INLINE int8_t te_quant_fast_output(te_quant_fast f, int32_t acc, int32_t lo, int32_t hi, const int full) {
    const int32_t v = te_quant_fast_scale(f, acc);
    return (int8_t)(full ? te_sat_s8(v) : te_clamp(v, lo, hi));
}

TE_ALWAYS_INLINE int8_t te_requant_one(const te_requant *q, int32_t acc, int32_t ch, const int mode) {
    if (mode == TE_RQ_FAST || mode == TE_RQ_FAST_FULL) {
        return te_quant_fast_output(
            te_quant_fast_channel(q->quant.multiplier[ch], q->quant.shift[ch], q->output_offset), acc, q->act_min,
            q->act_max, mode == TE_RQ_FAST_FULL);
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
    const te_requant q = {bias, {mult, shift}, p->output_offset, p->activation.min, p->activation.max, 1, 1};
    return q;
}

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
                                       int8_t *output, const int FULL) {
    const int32_t pixels = p->output.h * p->output.w, out_c = p->output.c, depth = p->input.c & ~3;
    const int32_t off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
#define TE_1X1_OUT(f, v) \
    (int8_t)(FULL ? te_sat_s8(te_quant_fast_scale(f, v)) : te_clamp(te_quant_fast_scale(f, v), lo, hi))
    for (int32_t px = 0; px < pixels; px += 2) {
        const int8_t *x0 = input + px * depth;
        int8_t *out = output + px * out_c;
        const int8_t *w = filter;
        if (px + 1 < pixels) {
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

void te_conv2d_1x1_s8_c4(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, int8_t *output) {
#if TE_CONV_FAST
    const int mode = te_conv_mode(p, mult, shift);
    if (mode != TE_RQ_CONV) {
        if (mode == TE_RQ_FAST_FULL) {
            te_conv_1x1_fast(p, input, filter, bias, mult, shift, output, 1);
        } else {
            te_conv_1x1_fast(p, input, filter, bias, mult, shift, output, 0);
        }
        return;
    }
#endif
    te_conv_1x1(p, input, filter, bias, mult, shift, output, 1);
}

int32_t te_conv2d_s8_get_buffer_size(const te_conv_params *p) {
    return 2 * te_pad4(p->kernel.h * p->kernel.w * p->input.c);
}

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
            const int8_t *src = input + (iy * p->input.w + ix0) * p->input.c;
            int32_t c = 0;
            for (; c + 4 <= run; c += 4) {
                const uint32_t v = te_load_u32(src + c);
                memcpy(col + c, &v, sizeof v);
            }
            for (; c < run; ++c) {
                col[c] = src[c];
            }
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

TE_ALWAYS_INLINE void te_conv_im2col(const te_conv_params *p, const int8_t *input, const int8_t *filter,
                                     const te_requant *q, int8_t *output, int8_t *scratch, const int mode) {
    const int32_t depth = p->kernel.h * p->kernel.w * p->input.c, pixels = p->output.h * p->output.w;
    const int32_t out_c = p->output.c;
    /* the columns' padding to a multiple of 4 meets zero weights: zero it once, multiply whole blocks */
    const int32_t depth4 = te_pad4(depth);
    int8_t *col0 = scratch, *col1 = scratch + depth4;
    for (int32_t k = depth; k < depth4; ++k) {
        col0[k] = col1[k] = 0;
    }
    int32_t px = 0;
    for (; px + 2 <= pixels; px += 2) {
        te_im2col(p, input, px, col0);
        te_im2col(p, input, px + 1, col1);
        int8_t *out = output + px * out_c;
        te_gemm_pixels(col0, col1, depth4, out_c, filter, q, mode, out, out + out_c);
    }
    if (px < pixels) {
        te_im2col(p, input, px, col0);
        te_gemm_pixels(col0, NULL, depth4, out_c, filter, q, mode, output + px * out_c, NULL);
    }
}

void te_conv2d_s8(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    const te_requant q = te_conv_requant(p, bias, mult, shift);
    switch (te_conv_mode(p, mult, shift)) {   /* each mode a constant for its inlined copy */
    case TE_RQ_FAST_FULL: te_conv_im2col(p, input, filter, &q, output, scratch, TE_RQ_FAST_FULL); break;
    case TE_RQ_FAST: te_conv_im2col(p, input, filter, &q, output, scratch, TE_RQ_FAST); break;
    default: te_conv_im2col(p, input, filter, &q, output, scratch, TE_RQ_CONV); break;
    }
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

/* te_conv_q15's inner loop in assembly (13 registers: the C code's values, nothing more). */
#if TE_CONV_ASM
/* The accumulators += `blocks` (>= 1) blocks of q15 columns v (pixel 0's two int16 pairs, then pixel 1's)
 * times a pair-packed channel pair w (4 int8 values per channel), exactly as te_conv_q15's C loop; returns w
 * past the blocks. */
#define TE_Q15_BLOCK_ASM                                                                                       \
    "ldrd %[v0], %[v1], [%[v]], #8\n\t"                                                                          \
    "ldrd %[v2], %[v3], [%[v]], #8\n\t"                                                                          \
    "ldr %[wv], [%[w]], #4\n\t"                                                                                  \
    "sxtb16 %[t], %[wv]\n\t"                                                                                     \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                            \
    "smlad %[c00], %[v0], %[t], %[c00]\n\t"                                                                      \
    "smlad %[c00], %[v1], %[wv], %[c00]\n\t"                                                                     \
    "smlad %[c10], %[v2], %[t], %[c10]\n\t"                                                                      \
    "smlad %[c10], %[v3], %[wv], %[c10]\n\t"                                                                     \
    "ldr %[wv], [%[w]], #4\n\t"                                                                                  \
    "sxtb16 %[t], %[wv]\n\t"                                                                                     \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                            \
    "smlad %[c01], %[v0], %[t], %[c01]\n\t"                                                                      \
    "smlad %[c01], %[v1], %[wv], %[c01]\n\t"                                                                     \
    "smlad %[c11], %[v2], %[t], %[c11]\n\t"                                                                      \
    "smlad %[c11], %[v3], %[wv], %[c11]\n\t"

/* The accumulators += `blocks` (>= 1) blocks of q15 columns v (pixel 0's two int16 pairs, then pixel 1's)
 * times a pair-packed channel pair w (4 int8 values per channel), as te_conv_q15's C loop computes them, two
 * blocks a trip; returns w past the blocks. */
static inline const int8_t *te_q15_blocks_asm(const uint32_t *v, const int8_t *w, int32_t blocks, int32_t *a00,
                                              int32_t *a01, int32_t *a10, int32_t *a11) {
    int32_t c00 = *a00, c01 = *a01, c10 = *a10, c11 = *a11;
    uint32_t v0, v1, v2, v3, wv, t;
    int32_t pairs = blocks >> 1;
    __asm volatile(
        "cmp %[n], #0\n\t"
        "beq 2f\n\t"
        "1:\n\t"
        TE_Q15_BLOCK_ASM
        TE_Q15_BLOCK_ASM
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "2:\n\t"
        : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [v] "+r"(v), [w] "+r"(w),
          [n] "+r"(pairs), [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3), [wv] "=&r"(wv),
          [t] "=&r"(t)
        :
        : "cc", "memory");
    if (blocks & 1) {
        __asm volatile(
            TE_Q15_BLOCK_ASM
            : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [v] "+r"(v), [w] "+r"(w),
              [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3), [wv] "=&r"(wv), [t] "=&r"(t)
            :
            : "memory");
    }
    *a00 = c00;
    *a01 = c01;
    *a10 = c10;
    *a11 = c11;
    return w;
}
#undef TE_Q15_BLOCK_ASM
#endif

#if TE_DSP && TE_CONV_FAST
/* Two int8 columns c0, c1 of depth4 values (a multiple of 4) sign-extended into the q15 layout. */
static void te_expand_q15(const int8_t *c0, const int8_t *c1, int32_t depth4, uint32_t *col) {
    for (int32_t k = 0; k < depth4; k += 4, col += 4) {
        const uint32_t v0 = te_load_u32(c0 + k), v1 = te_load_u32(c1 + k);
        col[0] = te_sxtb16(v0);
        col[1] = te_sxtb16_hi(v0);
        col[2] = te_sxtb16(v1);
        col[3] = te_sxtb16_hi(v1);
    }
}

/* Any input.c: both pixels' columns as int8 (te_im2col, the padding to a multiple of 4 zero) after the q15
 * columns, then sign-extended into them block by block. */
static void te_im2col_q15_any(const te_conv_params *p, const int8_t *input, int32_t px0, int32_t px1,
                              uint32_t *col) {
    const int32_t depth = p->kernel.h * p->kernel.w * p->input.c, depth4 = te_pad4(depth);
    int8_t *c0 = (int8_t *)(void *)(col + depth4), *c1 = c0 + depth4;
    for (int32_t k = depth; k < depth4; ++k) {
        c0[k] = c1[k] = 0;
    }
    te_im2col(p, input, px0, c0);
    te_im2col(p, input, px1, c1);
    te_expand_q15(c0, c1, depth4, col);
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
    /* te_quant_fast: each channel's constants once, all values before the stores */
    const int full = mode == TE_RQ_FAST_FULL;
    const te_quant_fast f0 = te_quant_fast_channel(mult[oc], shift[oc], off);
    const te_quant_fast f1 = te_quant_fast_channel(mult[oc + two], shift[oc + two], off);
    const int8_t r00 = te_quant_fast_output(f0, a00, lo, hi, full);
    const int8_t r10 = te_quant_fast_output(f0, a10, lo, hi, full);
    const int8_t r01 = te_quant_fast_output(f1, a01, lo, hi, full);
    const int8_t r11 = te_quant_fast_output(f1, a11, lo, hi, full);
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
                                  const te_requant *q, int8_t *output, int8_t *scratch, const int mode) {
    const int32_t blocks = te_pad4(p->kernel.h * p->kernel.w * p->input.c) / 4;
    const int32_t pixels = p->output.h * p->output.w, out_c = p->output.c;
    const te_requant rq = *q;  /* a local copy: the int8 stores cannot alias it */
    uint32_t *col = (uint32_t *)(void *)scratch;
#if TE_CONV_FAST
    const int pointwise = p->kernel.h == 1 && p->kernel.w == 1 && p->stride.h == 1 && p->stride.w == 1 &&
                          p->padding.h == 0 && p->padding.w == 0 && p->output.w == p->input.w &&
                          p->input.c % 4 == 0;
#endif
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two_px = px + 1 < pixels;
#if TE_CONV_FAST
        if (pointwise) {  /* a 1x1 convolution's columns are its pixels' inputs: no geometry */
            te_expand_q15(input + px * p->input.c, input + (two_px ? px + 1 : px) * p->input.c, p->input.c, col);
        } else if (p->input.c % 4 != 0) {
            te_im2col_q15_any(p, input, px, two_px ? px + 1 : px, col);
        } else
#endif
        {
            te_im2col_q15(p, input, px, col, 0);
            te_im2col_q15(p, input, two_px ? px + 1 : px, col, 2);
        }
        int8_t *out = output + px * out_c;
        const int8_t *w = filter;
        int32_t oc = 0;
#if TE_CONV_FAST  /* whole channel pairs with the pixel count a constant: no store conditions */
        if (two_px) {
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

void te_conv2d_s8_q15(const te_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
#if TE_DSP
#if !TE_CONV_FAST
    if (p->input.c % 4 != 0) {  /* size builds: the compact kernel (the scratch is larger than it needs) */
        te_conv2d_s8(p, input, filter, bias, mult, shift, output, scratch);
        return;
    }
#endif
    const te_requant q = te_conv_requant(p, bias, mult, shift);
    switch (te_conv_mode(p, mult, shift)) {
    case TE_RQ_FAST_FULL: te_conv_q15(p, input, filter, &q, output, scratch, TE_RQ_FAST_FULL); break;
    case TE_RQ_FAST: te_conv_q15(p, input, filter, &q, output, scratch, TE_RQ_FAST); break;
    default: te_conv_q15(p, input, filter, &q, output, scratch, TE_RQ_CONV); break;
    }
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
                          p->per_channel, p->double_rounding};
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
