/* DEPTHWISE_CONV_2D kernels (normal and MCUNet in-place); see te_depthwise.h. */
#include "te_depthwise.h"

#include "te_common.h"
#include "te_dsp.h"

#include <string.h>

/* --- DEPTHWISE_CONV_2D ----------------------------------------------------------------------------------- */

/* The DSP path's tiles (below) are built where the DSP path is and the build is not for size; they inline the
 * row gathering, which the compact paths call. */
#if TE_DSP && !defined(__OPTIMIZE_SIZE__)
#define TE_DW_FAST 1
#define TE_DW_ROWS_INLINE TE_ALWAYS_INLINE
#else
#define TE_DW_FAST 0
#define TE_DW_ROWS_INLINE static inline
#endif

static int32_t te_dw_padded_width(const te_dw_params *p) {
    return (p->output.w - 1) * p->stride.w + (p->kernel.w - 1) * p->dilation.w + 1;
}

/* int16 values per gathered row: one more than the padded width (a tap pair may reach one past it), even. */
static int32_t te_dw_row_len(const te_dw_params *p) {
    return (te_dw_padded_width(p) + 2) & ~1;
}

static int32_t te_dw_work_bytes(const te_dw_params *p) {
    return 2 * p->kernel.h * ((p->kernel.w + 1) & ~1) + 2 * p->kernel.h * te_dw_row_len(p);
}

int32_t te_depthwise_conv_s8_get_buffer_size(const te_dw_params *p) {
    return te_dw_work_bytes(p);
}

/* The rows of the scratch (after the generic path's taps) and the columns of a row that hold input values,
 * [lo, hi); the other columns hold the zero point, written once per call (te_dw_fill_rows) since every row
 * has the same columns (the bias has the zero point folded in, so padded taps contribute nothing, as in
 * TFLite). */
typedef struct {
    int16_t *rows;
    int32_t len, lo, hi;
} te_dw_rowbuf;

static te_dw_rowbuf te_dw_rowbuf_of(const te_dw_params *p, int8_t *work) {
    te_dw_rowbuf b;
    b.rows = (int16_t *)(void *)(work + 2 * p->kernel.h * ((p->kernel.w + 1) & ~1));
    b.len = te_dw_row_len(p);
    b.lo = TE_MIN(p->padding.w, b.len);
    b.hi = TE_MIN(p->padding.w + p->input.w, b.len);
    return b;
}

static void te_dw_fill(int16_t *dst, int32_t j, int32_t end, int16_t zp) {
    const uint32_t zp2 = (uint32_t)(uint16_t)zp * 0x10001u;
    if ((j & 1) && j < end) {
        dst[j++] = zp;
    }
    for (; j + 2 <= end; j += 2) {
        memcpy(dst + j, &zp2, sizeof zp2);
    }
    if (j < end) {
        dst[j] = zp;
    }
}

/* Every row all zero point (the columns outside [lo, hi) keep it). */
static void te_dw_fill_rows(const te_dw_params *p, int8_t *work) {
    const te_dw_rowbuf b = te_dw_rowbuf_of(p, work);
    te_dw_fill(b.rows, 0, p->kernel.h * b.len, (int16_t)(-p->input_offset));
}

/* Row iy of input channel ic into the columns [lo, hi) of dst (word-aligned): the raw values, the zero point
 * for a row outside the input. Values go out two at a time, as one word. */
TE_DW_ROWS_INLINE void te_dw_gather_row_inline(const te_dw_params *p, const int8_t *input, int32_t ic,
                                          int32_t iy, int16_t *dst, const te_dw_rowbuf *b) {
    int32_t j = b->lo;
    const int32_t hi = b->hi;
    if (iy < 0 || iy >= p->input.h) {
        te_dw_fill(dst, j, hi, (int16_t)(-p->input_offset));
        return;
    }
    const int32_t step = p->input.c, step2 = 2 * step, step3 = 3 * step;
    const int8_t *src = input + (iy * p->input.w + j - p->padding.w) * step + ic;
    if ((j & 1) && j < hi) {
        dst[j++] = src[0];
        src += step;
    }
    int16_t *d = dst + j;
    for (int32_t quads = (hi - j) >> 2; quads > 0; --quads, d += 4, src += 4 * step) {
        const uint32_t v0 = (uint32_t)(uint16_t)src[0] | (uint32_t)src[step] << 16;
        const uint32_t v1 = (uint32_t)(uint16_t)src[step2] | (uint32_t)src[step3] << 16;
        memcpy(d, &v0, sizeof v0);
        memcpy(d + 2, &v1, sizeof v1);
    }
    j = (int32_t)(d - dst);
    if (j + 2 <= hi) {
        const uint32_t v = (uint32_t)(uint16_t)src[0] | (uint32_t)src[step] << 16;
        memcpy(dst + j, &v, sizeof v);
        j += 2;
        src += step2;
    }
    if (j < hi) {
        dst[j] = src[0];
    }
}

/* te_dw_gather_row_inline as one function (the compact paths call it). */
static void te_dw_gather_row(const te_dw_params *p, const int8_t *input, int32_t ic, int32_t iy, int16_t *dst,
                             const te_dw_rowbuf *b) {
    te_dw_gather_row_inline(p, input, ic, iy, dst, b);
}

/* acc + x . w over `pairs` pairs of int16 values (SMLAD on the DSP path). */
TE_ALWAYS_INLINE int32_t te_dot_pairs_s16(const int16_t *x, const int16_t *w, int32_t pairs, int32_t acc) {
    for (int32_t j = 0; j < pairs; ++j, x += 2, w += 2) {
#if TE_DSP
        acc = te_smlad(te_load_u32(x), te_load_u32(w), acc);
#else
        acc += x[0] * w[0] + x[1] * w[1];
#endif
    }
    return acc;
}

#define TE_DW_MAX_K 7  /* the largest unrolled kernel */

/* Ring mode (dilation 1): input row iy lives in slot (iy + pad_top) mod k_h and stays valid while it is in the
 * window; rows are gathered in order, so the slot of the next row is kept by counting. */
typedef struct {
    int32_t row, slot;  /* the first input row not gathered yet, its slot */
} te_dw_ring;

/* Gathers the input rows of channel ic that output row oy reads and the ring lacks; returns the slot of the
 * first of them (row oy * stride_h - pad_top). */
TE_DW_ROWS_INLINE int32_t te_dw_ring_advance_inline(const te_dw_params *p, const int8_t *input, int32_t ic,
                                                  int32_t oy, const te_dw_rowbuf *b, int32_t k_h, te_dw_ring *ring) {
    const int32_t iy0 = oy * p->stride.h - p->padding.h;
    int32_t row = ring->row, slot = ring->slot;
    if (row < iy0) {  /* a stride larger than the kernel skips rows */
        slot = (slot + iy0 - row) % k_h;
        row = iy0;
    }
    for (; row < iy0 + k_h; ++row) {
        te_dw_gather_row_inline(p, input, ic, row, b->rows + slot * b->len, b);
        slot = slot + 1 == k_h ? 0 : slot + 1;
    }
    ring->row = row;
    ring->slot = slot;
    return slot;  /* the slot of row iy0 + k_h, which is row iy0's */
}

/* te_dw_ring_advance_inline as one function (the compact paths call it; the tiles inline it). */
static int32_t te_dw_ring_advance(const te_dw_params *p, const int8_t *input, int32_t ic, int32_t oy,
                                  const te_dw_rowbuf *b, int32_t k_h, te_dw_ring *ring) {
    return te_dw_ring_advance_inline(p, input, ic, oy, b, k_h, ring);
}

/* r[ky]: the ring's row for kernel row ky, first the slot of kernel row 0. */
TE_ALWAYS_INLINE void te_dw_ring_rows(const int16_t *rows, int32_t len, int32_t first, const int32_t K,
                                      const int16_t **r) {
    int32_t slot = first;
    TE_UNROLL
    for (int32_t ky = 0; ky < K; ++ky) {
        r[ky] = rows + slot * len;
        slot = slot + 1 == K ? 0 : slot + 1;
    }
}

/* Output channel oc, all pixels, written to dst[pixel * dst_step]. K is 0 (any kernel) or the size of a square
 * kernel with dilation 1, a constant at each call site so the tap loops unroll and the taps stay in registers. */
TE_ALWAYS_INLINE void te_dw_channel(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                    int32_t bias, int32_t mult, int32_t shift, int32_t oc, int8_t *dst,
                                    int32_t dst_step, int8_t *work, const int32_t K) {
    const int32_t k_h = K ? K : p->kernel.h, k_w = K ? K : p->kernel.w;
    const int32_t kw2 = (k_w + 1) & ~1, len = te_dw_row_len(p);
    const int32_t ic = oc / p->depth_mult, sw = p->stride.w, dil_w = K ? 1 : p->dilation.w;
    const te_quant_ch q = te_quant_channel(mult, shift);
    /* locals: the int8 stores below may alias *p as far as the compiler knows */
    const int32_t out_w = p->output.w, off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
    int16_t *taps = (int16_t *)(void *)work;
    const te_dw_rowbuf b = te_dw_rowbuf_of(p, work);
    const int16_t *rows = b.rows;
    const int8_t *f = filter + oc * k_h * k_w;
    for (int32_t ky = 0; ky < k_h; ++ky) {
        for (int32_t kx = 0; kx < k_w; ++kx) {
            taps[ky * kw2 + kx] = f[ky * k_w + kx];
        }
        if (k_w < kw2) {
            taps[ky * kw2 + k_w] = 0;
        }
    }
#if TE_DSP
    uint32_t tw[TE_DW_MAX_K * ((TE_DW_MAX_K + 1) / 2)];  /* the taps as SMLAD operands, out of the pixel loop */
    for (int32_t t = 0; t < (K ? K * ((K + 1) / 2) : 0); ++t) {
        tw[t] = te_load_u32(taps + 2 * t);
    }
#endif
    const int ring = K || p->dilation.h == 1;
    te_dw_ring rg = {-p->padding.h, 0};
    for (int32_t oy = 0; oy < p->output.h; ++oy) {
        int32_t first = 0;
        if (ring) {
            first = te_dw_ring_advance(p, input, ic, oy, &b, k_h, &rg);
        } else {
            const int32_t iy0 = oy * p->stride.h - p->padding.h;
            for (int32_t ky = 0; ky < k_h; ++ky) {
                te_dw_gather_row(p, input, ic, iy0 + ky * p->dilation.h, b.rows + ky * len, &b);
            }
        }
        int8_t *out = dst + oy * out_w * dst_step;
        if (K) {
            const int16_t *r[TE_DW_MAX_K];
            te_dw_ring_rows(rows, len, first, K, r);
            for (int32_t ox = 0; ox < out_w; ++ox, out += dst_step) {
                int32_t acc = bias;
                TE_UNROLL
                for (int32_t ky = 0; ky < K; ++ky) {
                    const int16_t *x = r[ky] + ox * sw;
#if TE_DSP
                    TE_UNROLL
                    for (int32_t j = 0; j < (K + 1) / 2; ++j) {
                        acc = te_smlad(te_load_u32(x + 2 * j), tw[ky * ((K + 1) / 2) + j], acc);
                    }
#else
                    acc = te_dot_pairs_s16(x, taps + ky * kw2, kw2 / 2, acc);
#endif
                }
                *out = te_quant_output(&q, acc, off, lo, hi);
            }
        } else {
            for (int32_t ox = 0; ox < out_w; ++ox, out += dst_step) {
                int32_t acc = bias;
                int32_t slot = first;
                for (int32_t ky = 0; ky < k_h; ++ky) {
                    const int16_t *x = rows + slot * len + ox * sw, *w = taps + ky * kw2;
                    if (dil_w == 1) {
                        acc = te_dot_pairs_s16(x, w, kw2 / 2, acc);
                    } else {
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            acc += x[kx * dil_w] * w[kx];
                        }
                    }
                    slot = ring && slot + 1 == k_h ? 0 : slot + 1;
                }
                *out = te_quant_output(&q, acc, off, lo, hi);
            }
        }
    }
}

/* --- The fast path (DSP, not built for size): tiles of horizontally adjacent outputs ------------------------
 *
 * A tile of P adjacent outputs (4; 1 or 2 at a row's end) shares the int16 pairs it loads from the gathered
 * rows. With stride 1, outputs 2j start on a word (x[2j], x[2j + 1]) and take the taps as ta[i] = (t[2i],
 * t[2i + 1]); outputs 2j + 1 start in the upper half of the same word and take them shifted by one, tb[i] =
 * (t[2i - 1], t[2i]) (t[-1] = t[K] = 0), so both multiply the same loaded words. With stride 2 every output
 * starts on a word. The taps are made into these SMLAD operands once per channel (on the stack; the scratch's
 * taps are the compact path's). A row's last 1-3 outputs are one tile of 1, 2 or 4 (stride 1; a 4th output past
 * the row is computed from the row's slack and not stored) or a tile of 2 and a single output (stride 2). */
#if TE_DW_FAST
#define TE_DW_PAIRS(K) (((K) + 1) / 2)  /* tap pairs per kernel row */
#define TE_DW_TILE 4

#if defined(__GNUC__)
#define TE_DW_NOINLINE __attribute__((noinline))
#else
#define TE_DW_NOINLINE
#endif

static inline uint32_t te_dw_pair(int32_t lo, int32_t hi) {
    return (uint32_t)(uint16_t)lo | (uint32_t)hi << 16;
}

/* The K * K taps f as SMLAD operands: ta[ky * PAIRS + i], and tb the same way when tb is not NULL. */
TE_ALWAYS_INLINE void te_dw_tap_words(const int8_t *f, uint32_t *ta, uint32_t *tb, const int32_t K) {
    TE_UNROLL
    for (int32_t ky = 0; ky < K; ++ky, f += K) {
        TE_UNROLL
        for (int32_t i = 0; i < TE_DW_PAIRS(K); ++i) {
            *ta++ = te_dw_pair(f[2 * i], 2 * i + 1 < K ? f[2 * i + 1] : 0);
            if (tb != NULL) {
                *tb++ = te_dw_pair(i > 0 ? f[2 * i - 1] : 0, f[2 * i]);
            }
        }
    }
}

/* acc[0..P) += one kernel row (taps ta/tb) over the P outputs whose windows start at x[0], x[S], ...; x is
 * word-aligned. */
TE_ALWAYS_INLINE void te_dw_tile_row(const int16_t *x, const uint32_t *ta, const uint32_t *tb, int32_t *acc,
                                     const int32_t K, const int32_t S, const int32_t P) {
    const int32_t W = TE_DW_PAIRS(K);
    const int32_t words = S == 1 ? (P + 1) / 2 + W - 1 : P + W - 1;
    uint32_t v[TE_DW_TILE + TE_DW_PAIRS(TE_DW_MAX_K)];
    TE_UNROLL
    for (int32_t m = 0; m < words; ++m) {
        v[m] = te_load_u32(x + 2 * m);
    }
    TE_UNROLL
    for (int32_t i = 0; i < W; ++i) {
        const uint32_t a = ta[i], b = S == 1 ? tb[i] : 0;
        TE_UNROLL
        for (int32_t j = 0; j < P; ++j) {
            if (S == 2) {
                acc[j] = te_smlad(v[j + i], a, acc[j]);
            } else if (j % 2 == 0) {
                acc[j] = te_smlad(v[j / 2 + i], a, acc[j]);
            } else {
                acc[j] = te_smlad(v[j / 2 + i], b, acc[j]);
            }
        }
    }
}

/* Requantizes n <= P accumulators to out[0], out[step], ...; the test of the shift's sign is made once. */
TE_ALWAYS_INLINE void te_dw_tile_store(const te_quant_ch *q, const te_quant_fast *qf, const int32_t *acc,
                                       int32_t n, int32_t off, int32_t lo, int32_t hi, int8_t *out, int32_t step,
                                       const int32_t P) {
    if (qf != NULL) {
        TE_UNROLL
        for (int32_t j = 0; j < P; ++j) {
            if (j < n) {
                out[j * step] = (int8_t)te_clamp(te_quant_fast_scale(*qf, acc[j]), lo, hi);
            }
        }
    } else if (q->right > 0) {
        TE_UNROLL
        for (int32_t j = 0; j < P; ++j) {
            if (j < n) {
                out[j * step] = te_quant_output(q, acc[j], off, lo, hi);
            }
        }
    } else {
        TE_UNROLL
        for (int32_t j = 0; j < P; ++j) {
            if (j < n) {
                out[j * step] = te_quant_output(q, acc[j], off, lo, hi);
            }
        }
    }
}

/* One tile of P outputs of output row r (the K rows it reads) from column ox; stores n of them. */
TE_ALWAYS_INLINE void te_dw_tile(const int16_t *const *r, int32_t ox, const uint32_t *ta, const uint32_t *tb,
                                 int32_t bias, const te_quant_ch *q, const te_quant_fast *qf, int32_t off,
                                 int32_t lo, int32_t hi, int8_t *out, int32_t step, int32_t n, const int32_t K,
                                 const int32_t S, const int32_t P) {
    int32_t acc[TE_DW_TILE];
    TE_UNROLL
    for (int32_t j = 0; j < P; ++j) {
        acc[j] = bias;
    }
    TE_UNROLL
    for (int32_t ky = 0; ky < K; ++ky) {
        te_dw_tile_row(r[ky] + ox * S, ta + ky * TE_DW_PAIRS(K), tb + ky * TE_DW_PAIRS(K), acc, K, S, P);
    }
    te_dw_tile_store(q, qf, acc, n, off, lo, hi, out, step, P);
}

/* te_dw_channel for a square kernel K with dilation 1 and stride_w S (1 or 2); ta and tb hold K * PAIRS(K)
 * words (tb only for stride 1). */
TE_ALWAYS_INLINE void te_dw_channel_fast(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                         int32_t bias, int32_t mult, int32_t shift, int32_t oc, int8_t *dst,
                                         int32_t dst_step, int8_t *work, uint32_t *ta, uint32_t *tb,
                                         const int32_t K, const int32_t S) {
    te_dw_tap_words(filter + oc * K * K, ta, S == 1 ? tb : NULL, K);
    const te_quant_ch q = te_quant_channel(mult, shift);
    const int32_t out_w = p->output.w, off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
    const int32_t len = te_dw_row_len(p), ic = oc / p->depth_mult, out_h = p->output.h;
    /* the shorter requantization where it is exact for this channel */
    const te_quant_fast qfast = te_quant_fast_channel(mult, shift, off);
    const te_quant_fast *const qf = te_quant_fast_fits(mult, shift, off) ? &qfast : NULL;
    const te_dw_rowbuf b = te_dw_rowbuf_of(p, work);
    te_dw_ring rg = {-p->padding.h, 0};
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int16_t *r[TE_DW_MAX_K];
        te_dw_ring_rows(b.rows, len, te_dw_ring_advance_inline(p, input, ic, oy, &b, K, &rg), K, r);
        int8_t *out = dst + oy * out_w * dst_step;
        int32_t ox = 0;
        for (; ox + TE_DW_TILE <= out_w; ox += TE_DW_TILE) {
            te_dw_tile(r, ox, ta, tb, bias, &q, qf, off, lo, hi, out + ox * dst_step, dst_step, TE_DW_TILE, K, S,
                       TE_DW_TILE);
        }
        /* the last 1-3 outputs: one tile with stride 1 (ox is even), a tile of 2 then a single output with
         * stride 2 (the tiles' reads stay inside the row; te_depthwise.h's row length has one value of slack) */
        int8_t *o = out + ox * dst_step;
        const int32_t n = out_w - ox;
        if (S == 1 && n == 3) {
            te_dw_tile(r, ox, ta, tb, bias, &q, qf, off, lo, hi, o, dst_step, 3, K, S, TE_DW_TILE);
        } else if (S == 1 && n == 2) {
            te_dw_tile(r, ox, ta, tb, bias, &q, qf, off, lo, hi, o, dst_step, 2, K, S, 2);
        } else if (S == 1 && n == 1) {
            te_dw_tile(r, ox, ta, tb, bias, &q, qf, off, lo, hi, o, dst_step, 1, K, S, 1);
        } else if (S == 2) {
            if (n >= 2) {
                te_dw_tile(r, ox, ta, tb, bias, &q, qf, off, lo, hi, o, dst_step, 2, K, S, 2);
            }
            if (n & 1) {
                te_dw_tile(r, out_w - 1, ta, tb, bias, &q, qf, off, lo, hi, out + (out_w - 1) * dst_step, dst_step, 1,
                           K, S, 1);
            }
        }
    }
}

/* One function per kernel size and stride, shared by the normal and in-place drivers. */
#define TE_DW_FAST_FN(K, S)                                                                                    \
    static TE_DW_NOINLINE void te_dw_fast_k##K##_s##S(const te_dw_params *p, const int8_t *input,             \
                                                      const int8_t *filter, int32_t bias, int32_t mult,        \
                                                      int32_t shift, int32_t oc, int8_t *dst,                  \
                                                      int32_t dst_step, int8_t *work) {                        \
        uint32_t ta[K * TE_DW_PAIRS(K)], tb[S == 1 ? K * TE_DW_PAIRS(K) : 1];                                 \
        te_dw_channel_fast(p, input, filter, bias, mult, shift, oc, dst, dst_step, work, ta, tb, K, S);        \
    }
TE_DW_FAST_FN(3, 1)
TE_DW_FAST_FN(3, 2)
TE_DW_FAST_FN(5, 1)
TE_DW_FAST_FN(5, 2)
TE_DW_FAST_FN(7, 1)
TE_DW_FAST_FN(7, 2)

/* --- The fast path's channel groups: 4 channels at a time straight from NHWC ---------------------------------
 *
 * On small planes the per-channel tiles above spend most of their time on fixed costs (the taps, the rows'
 * gathering, each row's setup). A group of 4 adjacent channels instead reads one word of input per tap
 * (channels c..c+3 of a pixel), splits it with SXTB16 into the lanes (c, c+2) and (c+1, c+3), and multiplies
 * lane by lane (SMLABB / SMLATT) with the group's taps, made into the same lanes once per group. Taps outside
 * the input read the zero point (te_depthwise.h). */
#define TE_DW_GROUP 4

/* Hides where a pointer points from the optimizer, so that the taps and quantization constants are loaded at
 * each pixel where they are used rather than hoisted out of the pixel loop and spilled to a copy on the stack
 * (a smaller frame; the stack high-water mark grows less). */
#if defined(__GNUC__)
#define TE_DW_OPAQUE(ptr) __asm__("" : "+r"(ptr))
#else
#define TE_DW_OPAQUE(ptr) ((void)(ptr))
#endif

/* The group's K * K taps from the channel-major filter f (channel c0 first): w[2t] = (c0, c0 + 2) and
 * w[2t + 1] = (c0 + 1, c0 + 3) of tap t. */
TE_ALWAYS_INLINE void te_dw_group_taps(const int8_t *f, uint32_t *w, const int32_t KK) {
    TE_UNROLL
    for (int32_t t = 0; t < KK; ++t) {
        w[2 * t] = te_dw_pair(f[t], f[2 * KK + t]);
        w[2 * t + 1] = te_dw_pair(f[KK + t], f[3 * KK + t]);
    }
}

/* acc + the products of the bottom (te_smlabb) or top (te_smlatt) int16 lanes of x and y. */
#if defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP)
static inline int32_t te_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    return __smlabb((int32_t)x, (int32_t)y, acc);
}
static inline int32_t te_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    return __smlatt((int32_t)x, (int32_t)y, acc);
}
#else
static inline int32_t te_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)x * (int32_t)(int16_t)y));
}
static inline int32_t te_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    return te_smlabb(x >> 16, y >> 16, acc);
}
#endif

/* acc[0..4) += the group's products for one tap: x holds the tap's input bytes of channels c0..c0+3. */
TE_ALWAYS_INLINE void te_dw_group_mac(uint32_t x, const uint32_t *w, int32_t *acc) {
    const uint32_t x02 = te_sxtb16(x), x13 = te_sxtb16_hi(x), w02 = w[0], w13 = w[1];
    acc[0] = te_smlabb(x02, w02, acc[0]);
    acc[2] = te_smlatt(x02, w02, acc[2]);
    acc[1] = te_smlabb(x13, w13, acc[1]);
    acc[3] = te_smlatt(x13, w13, acc[3]);
}

/* acc[0..4) += the window whose top-left input pixel is (iy0, ix0) (channel c0 of the group at in). Border:
 * some taps may fall outside the input (they take zp4, the zero point in each byte); otherwise the taps are
 * read by walking a pointer. */
TE_ALWAYS_INLINE void te_dw_group_window(const int8_t *in, int32_t in_h, int32_t in_w, int32_t C, int32_t iy0,
                                         int32_t ix0, const uint32_t *w, uint32_t zp4, int32_t *acc,
                                         const int32_t K, const int Border) {
    if (!Border) {
        const int8_t *x = in + (iy0 * in_w + ix0) * C;
        int32_t next_row = (in_w - K) * C;
        TE_DW_OPAQUE(x);  /* one walking pointer, not K * K pointers stepped per pixel on the stack */
        TE_DW_OPAQUE(next_row);
        TE_UNROLL
        for (int32_t ky = 0; ky < K; ++ky, x += next_row) {
            TE_UNROLL
            for (int32_t kx = 0; kx < K; ++kx, x += C) {
                te_dw_group_mac(te_load_u32(x), w + 2 * (ky * K + kx), acc);
            }
        }
        return;
    }
    /* bit kx of cols: column ix0 + kx is inside the input, found once per window */
    uint32_t cols = 0;
    TE_UNROLL
    for (int32_t kx = 0; kx < K; ++kx) {
        cols |= (uint32_t)((uint32_t)(ix0 + kx) < (uint32_t)in_w) << kx;
    }
    const int8_t *row = in + (iy0 * in_w + ix0) * C;
    int32_t row_step = in_w * C;
    TE_DW_OPAQUE(row);
    TE_DW_OPAQUE(row_step);
    TE_UNROLL
    for (int32_t ky = 0; ky < K; ++ky, row += row_step) {
        const uint32_t in_row = (uint32_t)(iy0 + ky) < (uint32_t)in_h ? cols : 0;
        TE_UNROLL
        for (int32_t kx = 0; kx < K; ++kx) {
            const uint32_t x = (in_row >> kx) & 1 ? te_load_u32(row + kx * C) : zp4;
            te_dw_group_mac(x, w + 2 * (ky * K + kx), acc);
        }
    }
}

/* The group's 4 outputs as one word (channel c0 in the low byte), requantized by te_quant_fast (the groups run
 * only where every channel allows it). */
TE_ALWAYS_INLINE uint32_t te_dw_group_out(const te_quant_fast *q, const int32_t *acc, int32_t lo, int32_t hi) {
    uint32_t v = 0;
    TE_UNROLL
    for (int32_t j = 0; j < TE_DW_GROUP; ++j) {
        v |= (uint32_t)(uint8_t)te_clamp(te_quant_fast_scale(q[j], acc[j]), lo, hi) << (8 * j);
    }
    return v;
}

/* Output row oy of the group (channels c0..c0+3 at in, taps w, bias from c0) into dst: 4 bytes a pixel, pixel
 * ox at dst + ox * dst_step. */
TE_ALWAYS_INLINE void te_dw_group_row(const te_dw_params *p, const int8_t *in, const uint32_t *w,
                                      const int32_t *bias, const te_quant_fast *q, uint32_t zp4, int32_t oy,
                                      int8_t *dst, int32_t dst_step, const int32_t K) {
    const int32_t in_h = p->input.h, in_w = p->input.w, C = p->input.c, out_w = p->output.w;
    const int32_t sw = p->stride.w, lo = p->activation.min, hi = p->activation.max;
    const int32_t iy0 = oy * p->stride.h - p->padding.h;
    const int rows_in = iy0 >= 0 && iy0 + K <= in_h;
    for (int32_t ox = 0, ix0 = -p->padding.w; ox < out_w; ++ox, ix0 += sw, dst += dst_step) {
        int32_t acc[TE_DW_GROUP] = {bias[0], bias[1], bias[2], bias[3]};
        const uint32_t *wt = w;
        TE_DW_OPAQUE(wt);
        if (rows_in && ix0 >= 0 && ix0 + K <= in_w) {
            te_dw_group_window(in, in_h, in_w, C, iy0, ix0, wt, zp4, acc, K, 0);
        } else {
            te_dw_group_window(in, in_h, in_w, C, iy0, ix0, wt, zp4, acc, K, 1);
        }
        const te_quant_fast *qt = q;
        TE_DW_OPAQUE(qt);
        const uint32_t v = te_dw_group_out(qt, acc, lo, hi);
        memcpy(dst, &v, sizeof v);
    }
}

/* Channels c0..c0+3 of a depthwise convolution with depth multiplier 1 (square K, dilation 1, any stride); w
 * (2 K K words) is the caller's. Normal (ring == NULL): straight into output. In place (ring: `slots` rows of
 * output.w pixels of 4 bytes): an output row is kept in the ring until no later output row reads the input rows
 * its bytes cover (rows <= oy, as output.w <= input.w), i.e. until the next row's first input row is past it. */
TE_ALWAYS_INLINE void te_dw_group(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t c0,
                                  int8_t *output, int8_t *ring, int32_t slots, uint32_t *w, const int32_t K) {
    te_dw_group_taps(filter + c0 * K * K, w, K * K);
    te_quant_fast q[TE_DW_GROUP];
    for (int32_t j = 0; j < TE_DW_GROUP; ++j) {
        q[j] = te_quant_fast_channel(mult[c0 + j], shift[c0 + j], p->output_offset);
    }
    const uint32_t zp4 = (uint32_t)(uint8_t)(-p->input_offset) * 0x01010101u;
    const int32_t C = p->output.c, out_w = p->output.w, out_h = p->output.h;
    const int8_t *in = input + c0;
    int8_t *out = output + c0;
    int32_t done = 0;  /* output rows written back from the ring */
    for (int32_t oy = 0; oy < out_h; ++oy) {
        te_dw_group_row(p, in, w, bias + c0, q, zp4, oy,
                        ring == NULL ? out + oy * out_w * C : ring + (oy % slots) * out_w * 4, ring == NULL ? C : 4,
                        K);
        if (ring == NULL) {
            continue;
        }
        const int32_t next = oy + 1 < out_h ? (oy + 1) * p->stride.h - p->padding.h : out_h;
        for (; done <= oy && done < next; ++done) {
            const int8_t *src = ring + (done % slots) * out_w * 4;
            int8_t *o = out + done * out_w * C;
            for (int32_t ox = 0; ox < out_w; ++ox, src += 4, o += C) {
                memcpy(o, src, 4);
            }
        }
    }
}

/* The whole groups of a depthwise convolution (te_dw_group); returns the channels done (the rest are the
 * caller's). */
#define TE_DW_GROUP_FN(K)                                                                                     \
    static TE_DW_NOINLINE int32_t te_dw_groups_k##K(const te_dw_params *p, const int8_t *input,               \
                                                    const int8_t *filter, const int32_t *bias,                 \
                                                    const int32_t *mult, const int32_t *shift, int8_t *output,  \
                                                    int8_t *ring, int32_t slots) {                             \
        const int32_t groups = p->output.c / TE_DW_GROUP;                                                     \
        uint32_t w[2 * K * K];                                                                                 \
        for (int32_t g = 0; g < groups; ++g) {                                                                 \
            te_dw_group(p, input, filter, bias, mult, shift, g * TE_DW_GROUP, output, ring, slots, w, K);      \
        }                                                                                                      \
        return groups * TE_DW_GROUP;                                                                           \
    }
TE_DW_GROUP_FN(3)
TE_DW_GROUP_FN(5)

/* The groups' function for kernel K where they apply and pay, NULL elsewhere: square K of 3 or 5 with dilation
 * 1, depth multiplier 1, every channel's requantization te_quant_fast's, and an output plane where the
 * per-channel tiles' fixed costs (per channel and per row) dominate. Measured on the suite's layers (Cortex-M4
 * -O2, estimated cycles): with stride 1 the groups win on rows of up to 6 outputs (3x3, 5x5, 6x6, 25x5: 10-20%)
 * and lose from 10 (10x10 even, 12x12, 20x20 and 40x40 by 6-25%; 5x5 kernels on 10x10 by 45%); with stride 2
 * they win on every plane the suite has, up to 24x24 outputs (20x20: 4%, 24x24: 9%); they lose on 7x7
 * kernels, whose tiles share more loads. */
typedef int32_t (*te_dw_groups_fn)(const te_dw_params *, const int8_t *, const int8_t *, const int32_t *,
                                   const int32_t *, const int32_t *, int8_t *, int8_t *, int32_t);
static te_dw_groups_fn te_dw_groups_of(const te_dw_params *p, const int32_t *mult, const int32_t *shift,
                                        const int32_t K) {
    const int32_t outputs = p->output.h * p->output.w;
    if (!K || K == 7 || p->depth_mult != 1 || p->output.c < TE_DW_GROUP ||
        (p->stride.w == 1 ? outputs > 25 && p->output.w > 6 : outputs > 576)) {
        return NULL;
    }
    for (int32_t c = 0; c < p->output.c; ++c) {
        if (!te_quant_fast_fits(mult[c], shift[c], p->output_offset)) {
            return NULL;
        }
    }
    return K == 3 ? te_dw_groups_k3 : te_dw_groups_k5;
}

/* Everything else (other kernels, strides, dilations) in one function: the tiles' builds keep one copy. */
static TE_DW_NOINLINE void te_dw_channel_generic(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                                 int32_t bias, int32_t mult, int32_t shift, int32_t oc, int8_t *dst,
                                                 int32_t dst_step, int8_t *work) {
    te_dw_channel(p, input, filter, bias, mult, shift, oc, dst, dst_step, work, 0);
}
#endif

/* Output channel oc through the tiles where they apply (square K, stride.w 1 or 2), te_dw_channel elsewhere. */
TE_ALWAYS_INLINE void te_dw_channel_any(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                        int32_t bias, int32_t mult, int32_t shift, int32_t oc, int8_t *dst,
                                        int32_t dst_step, int8_t *work, const int32_t K) {
#if TE_DW_FAST
    if (K && (p->stride.w == 1 || p->stride.w == 2)) {
        void (*const fn)(const te_dw_params *, const int8_t *, const int8_t *, int32_t, int32_t, int32_t, int32_t,
                         int8_t *, int32_t, int8_t *) =
            K == 3 ? (p->stride.w == 1 ? te_dw_fast_k3_s1 : te_dw_fast_k3_s2)
                   : K == 5 ? (p->stride.w == 1 ? te_dw_fast_k5_s1 : te_dw_fast_k5_s2)
                            : (p->stride.w == 1 ? te_dw_fast_k7_s1 : te_dw_fast_k7_s2);
        fn(p, input, filter, bias, mult, shift, oc, dst, dst_step, work);
        return;
    }
    te_dw_channel_generic(p, input, filter, bias, mult, shift, oc, dst, dst_step, work);
#else
    te_dw_channel(p, input, filter, bias, mult, shift, oc, dst, dst_step, work, K);
#endif
}

/* Output channels oc0.. one at a time, outputs straight to output. */
TE_ALWAYS_INLINE void te_dw_channels_from(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                          int8_t *output, int8_t *scratch, int32_t oc0, const int32_t K) {
    te_dw_fill_rows(p, scratch);
    for (int32_t oc = oc0; oc < p->output.c; ++oc) {
        te_dw_channel_any(p, input, filter, bias[oc], mult[oc], shift[oc], oc, output + oc, p->output.c, scratch,
                          K);
    }
}

/* Not in place: the groups where they apply, then the other channels. */
TE_ALWAYS_INLINE void te_dw_all(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                int8_t *scratch, const int32_t K) {
    int32_t oc = 0;
#if TE_DW_FAST
    const te_dw_groups_fn groups = te_dw_groups_of(p, mult, shift, K);
    if (groups != NULL) {
        oc = groups(p, input, filter, bias, mult, shift, output, NULL, 0);
    }
#endif
    te_dw_channels_from(p, input, filter, bias, mult, shift, output, scratch, oc, K);
}

/* The output plane, rounded up to keep the int16 buffers aligned, then the depthwise buffers. */
static int32_t te_dw_plane_bytes(const te_dw_params *p) {
    return (p->output.h * p->output.w + 3) & ~3;
}

int32_t te_depthwise_conv_s8_inplace_get_buffer_size(const te_dw_params *p) {
    return te_dw_plane_bytes(p) + te_dw_work_bytes(p);
}

TE_ALWAYS_INLINE void te_dw_all_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                        const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                        int8_t *output, int8_t *scratch, const int32_t K) {
    const int32_t pixels = p->output.h * p->output.w, channels = p->output.c;
    int8_t *work = scratch + te_dw_plane_bytes(p);
    /* Each input row of a channel is gathered once, in order, before the output rows that read it. The output
     * row oy covers input rows <= oy of its channel (out_w <= in_w), and by then the rows up to
     * oy * stride_h - pad_top + k_h - 1 >= oy have been gathered (pad_top < k_h): the outputs can go straight
     * over the input. Otherwise a channel goes through the plane. */
    if ((K || p->dilation.h == 1) && p->padding.h < (K ? K : p->kernel.h) && p->output.w <= p->input.w) {
#if TE_DW_FAST
        /* the groups keep up to padding.h + 1 output rows (te_dw_group) in the scratch, where it has room */
        const te_dw_groups_fn groups = te_dw_groups_of(p, mult, shift, K);
        const int32_t slots = TE_MIN(p->padding.h + 1, p->output.h);
        if (groups != NULL &&
            slots * p->output.w * TE_DW_GROUP <= te_depthwise_conv_s8_inplace_get_buffer_size(p)) {
            const int32_t done = groups(p, input, filter, bias, mult, shift, output, scratch, slots);
            te_dw_channels_from(p, input, filter, bias, mult, shift, output, work, done, K);
            return;
        }
#endif
        te_dw_channels_from(p, input, filter, bias, mult, shift, output, work, 0, K);
        return;
    }
    te_dw_fill_rows(p, work);
    for (int32_t c = 0; c < channels; ++c) {
        te_dw_channel_any(p, input, filter, bias[c], mult[c], shift[c], c, scratch, 1, work, K);
        int8_t *out = output + c;
        for (int32_t k = 0; k < pixels; ++k, out += channels) {
            *out = scratch[k];
        }
    }
}

/* The depthwise entry points: any kernel (K 0) and the square kernels 3, 5 and 7 unrolled, each with its
 * _get_buffer_size (the variants need what their generic kernel needs). */
#define TE_DW_ENTRY(name, driver, K, size)                                                                    \
    void name(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,           \
              const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {                    \
        driver(p, input, filter, bias, mult, shift, output, scratch, K);                                       \
    }                                                                                                          \
    int32_t name##_get_buffer_size(const te_dw_params *p) {                                                    \
        return size(p);                                                                                        \
    }

TE_DW_ENTRY(te_depthwise_conv_s8_k3, te_dw_all, 3, te_depthwise_conv_s8_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_k5, te_dw_all, 5, te_depthwise_conv_s8_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_k7, te_dw_all, 7, te_depthwise_conv_s8_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_inplace_k3, te_dw_all_inplace, 3, te_depthwise_conv_s8_inplace_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_inplace_k5, te_dw_all_inplace, 5, te_depthwise_conv_s8_inplace_get_buffer_size)
TE_DW_ENTRY(te_depthwise_conv_s8_inplace_k7, te_dw_all_inplace, 7, te_depthwise_conv_s8_inplace_get_buffer_size)

void te_depthwise_conv_s8(const te_dw_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                          const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch) {
    te_dw_all(p, input, filter, bias, mult, shift, output, scratch, 0);
}

void te_depthwise_conv_s8_inplace(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output,
                                  int8_t *scratch) {
    te_dw_all_inplace(p, input, filter, bias, mult, shift, output, scratch, 0);
}
