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

/* The output plane of the in-place kernel's per-channel path, rounded up to keep the int16 buffers aligned. */
static int32_t te_dw_plane_bytes(const te_dw_params *p) {
    return (p->output.h * p->output.w + 3) & ~3;
}

/* The DSP speed path's channel-group ring (te_dw_ring4, below) where the shape allows it (square 3x3, 5x5 or 7x7
 * kernel, dilation 1, depth multiplier 1, stride.w 1 or 2, 4 channels or more), else 0: the taps of 4 channels
 * as SMLAD operands (two sets with stride.w 1), their 4 requantization constants (3 words each), then kernel.h
 * ring slots of 4 int16 rows (one a channel) of te_dw_row_len values. Shape-only, so every build sizes it alike. */
static int32_t te_dw_ring4_bytes(const te_dw_params *p) {
    const int32_t k = p->kernel.h;
    if (k != p->kernel.w || (k != 3 && k != 5 && k != 7) || p->dilation.h != 1 || p->dilation.w != 1 ||
        p->depth_mult != 1 || (p->stride.w != 1 && p->stride.w != 2) || p->output.c < 4) {
        return 0;
    }
    const int32_t tap_words = 4 * k * ((k + 1) / 2) * (p->stride.w == 1 ? 2 : 1);
    return 4 * tap_words + 4 * 12 + 8 * k * te_dw_row_len(p);
}

/* The per-channel buffers (taps, then kernel.h rows), or more where the ring needs it beyond the in-place
 * plane: the in-place scratch (the plane, then these) always holds the ring. */
static int32_t te_dw_work_bytes(const te_dw_params *p) {
    const int32_t work = 2 * p->kernel.h * ((p->kernel.w + 1) & ~1) + 2 * p->kernel.h * te_dw_row_len(p);
    return TE_MAX(work, te_dw_ring4_bytes(p) - te_dw_plane_bytes(p));
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
TE_ALWAYS_INLINE void te_dw_tile_row_at(const int16_t *x, const uint32_t *ta, const uint32_t *tb, int32_t *acc,
                                        const int32_t K, const int32_t S, const int32_t P, const int32_t PS) {
    const int32_t W = TE_DW_PAIRS(K);
    const int32_t words = S == 1 ? (P + 1) / 2 + W - 1 : P + W - 1;
    uint32_t v[TE_DW_TILE + TE_DW_PAIRS(TE_DW_MAX_K)];
    TE_UNROLL
    for (int32_t m = 0; m < words; ++m) {
        v[m] = te_load_u32(x + PS * m);
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

/* te_dw_tile_row_at on a row of consecutive int16 values (a pair every 2). */
TE_ALWAYS_INLINE void te_dw_tile_row(const int16_t *x, const uint32_t *ta, const uint32_t *tb, int32_t *acc,
                                     const int32_t K, const int32_t S, const int32_t P) {
    te_dw_tile_row_at(x, ta, tb, acc, K, S, P, 2);
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

/* Hides where a pointer points from the optimizer, so that the taps and quantization constants are loaded at
 * each pixel where they are used rather than hoisted out of the pixel loop and spilled to a copy on the stack
 * (a smaller frame; the stack high-water mark grows less). */
#if defined(__GNUC__)
#define TE_DW_OPAQUE(ptr) __asm__("" : "+r"(ptr))
#else
#define TE_DW_OPAQUE(ptr) ((void)(ptr))
#endif

/* A compiler barrier for memory accesses (no instruction): loads are not scheduled across it. */
#if defined(__GNUC__)
#define TE_DW_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TE_DW_BARRIER() ((void)0)
#endif

/* (lo.lane0, hi.lane0) and (lo.lane1, hi.lane1): PKHBT and PKHTB (gcc does not always form them from C). */
#if defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP)
static inline uint32_t te_dw_pkhbt(uint32_t lo, uint32_t hi) {
    uint32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
static inline uint32_t te_dw_pkhtb(uint32_t hi, uint32_t lo) {
    uint32_t r;
    __asm("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
}
#else
static inline uint32_t te_dw_pkhbt(uint32_t lo, uint32_t hi) {
    return (lo & 0xFFFFu) | (hi << 16);
}
static inline uint32_t te_dw_pkhtb(uint32_t hi, uint32_t lo) {
    return (hi & 0xFFFF0000u) | (lo >> 16);
}
#endif

/* --- The fast path's channel-group ring: 4 channels gathered at once ----------------------------------------
 *
 * The per-channel tiles above gather each channel's rows one byte at a time (a strided load per value). Here a
 * group of 4 adjacent channels shares the gathering: a ring of kernel.h slots (te_dw_ring4_bytes) holds, per
 * input row, the 4 channels' int16 rows (the per-channel tiles' layout), filled from one 32-bit load per input
 * pixel (SXTB16 into the lanes (c, c+2) and (c+1, c+3), then PKHBT/PKHTB into each channel's column pairs, 4
 * words stored per 2 pixels). The ring rotates by slot index (no row is copied); each input row is gathered
 * once per group. The 4 channels' output rows are then the per-channel tiles (4 adjacent outputs share their
 * loads, the taps are SMLAD operands kept in the scratch per channel of the group, te_quant_fast's
 * requantization). In place, output row oy goes straight over the input: it covers input rows <= oy (output.w
 * <= input.w) of the group's 4 channels only, all gathered by then (padding.h < kernel.h), and no later gather
 * reads them. */

/* Parts of the ring in assembly (speed builds for a real DSP core), where gcc's allocation of the unrolled C
 * spills: the row gather (te_dw_gather4_asm), the 3x3 stride-1 tiles' multiply-accumulates and whole rows. */
#if TE_DW_FAST && defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TE_EMULATE_DSP) && \
    defined(__OPTIMIZE__) && !defined(__PIC__) && defined(__thumb2__)   /* the routines are Thumb-2 */
#define TE_DW_ASM 1
#else
#define TE_DW_ASM 0
#endif

#if TE_DW_ASM
/* te_dw_gather4's columns [lo, hi) (lo < hi) of an input row inside the input: src is the input at column lo of
 * the group's channel 0; 14 instructions a column pair. */
void te_dw_gather4_asm(const int8_t *src, int32_t C, int16_t *dst, int32_t lo, int32_t hi);

__asm__(
    "\t.syntax unified\n"
    "\t.thumb\n"
    "\t.pushsection .text.te_dw_gather4_asm, \"ax\", %progbits\n"
    "\t.align 2\n"
    "\t.global te_dw_gather4_asm\n"
    "\t.type te_dw_gather4_asm, %function\n"
    "\t.thumb_func\n"
    "te_dw_gather4_asm:\n"
    "\tpush {r4-r9, lr}\n"
    "\tldr r12, [sp, #28]\n"          /* hi */
    "\ttst r3, #1\n"
    "\tbeq 1f\n"
    "\tldr r4, [r0]\n"                /* an odd first column: the upper halves of its pair's 4 words */
    "\tadd r0, r0, r1\n"
    "\tlsrs r5, r3, #1\n"
    "\tadd r5, r2, r5, lsl #4\n"
    "\tsxtb r6, r4\n"
    "\tstrh r6, [r5, #2]\n"
    "\tsbfx r6, r4, #8, #8\n"
    "\tstrh r6, [r5, #6]\n"
    "\tsbfx r6, r4, #16, #8\n"
    "\tstrh r6, [r5, #10]\n"
    "\tasrs r6, r4, #24\n"
    "\tstrh r6, [r5, #14]\n"
    "\tadds r3, r3, #1\n"
    "1:\n"
    "\tadd r5, r2, r3, lsl #3\n"      /* the pair of column r3 (even) */
    "\tsub r12, r12, r3\n"
    "\tsubs r12, r12, #2\n"
    "\tblt 3f\n"
    "2:\n"                             /* two columns: 4 words, one a channel */
    "\tldr r4, [r0]\n"
    "\tldr lr, [r0, r1]\n"
    "\tadd r0, r0, r1, lsl #1\n"
    "\tsxtb16 r8, r4\n"
    "\tsxtb16 r9, lr\n"
    "\tsxtb16 r4, r4, ror #8\n"
    "\tsxtb16 lr, lr, ror #8\n"
    "\tpkhbt r6, r8, r9, lsl #16\n"
    "\tpkhtb r8, r9, r8, asr #16\n"
    "\tpkhbt r7, r4, lr, lsl #16\n"
    "\tpkhtb r9, lr, r4, asr #16\n"
    "\tstmia r5!, {r6, r7, r8, r9}\n"
    "\tsubs r12, r12, #2\n"
    "\tbge 2b\n"
    "3:\n"
    "\tcmn r12, #1\n"                 /* one column left: the lower halves */
    "\tbne 4f\n"
    "\tldr r4, [r0]\n"
    "\tsxtb r6, r4\n"
    "\tstrh r6, [r5]\n"
    "\tsbfx r6, r4, #8, #8\n"
    "\tstrh r6, [r5, #4]\n"
    "\tsbfx r6, r4, #16, #8\n"
    "\tstrh r6, [r5, #8]\n"
    "\tasrs r6, r4, #24\n"
    "\tstrh r6, [r5, #12]\n"
    "4:\n"
    "\tpop {r4-r9, pc}\n"
    "\t.size te_dw_gather4_asm, .-te_dw_gather4_asm\n"
    "\t.popsection\n");
#endif

/* Row iy of channels c0..c0+3 (in = input + c0) into a slot: column pair j (columns 2j, 2j + 1) of channel c is
 * the word at int16 dst[8 j + 2 c], so a pair's 4 channels are 4 consecutive words (columns [lo, hi) from the
 * input, the others keep the zero point); a row outside the input is all zero point. */
TE_ALWAYS_INLINE void te_dw_gather4(const te_dw_params *p, const int8_t *in, int32_t iy, int16_t *dst,
                                    int32_t len, int32_t lo, int32_t hi) {
    if (iy < 0 || iy >= p->input.h) {
        te_dw_fill(dst, 0, 4 * len, (int16_t)(-p->input_offset));
        return;
    }
    const int32_t C = p->input.c;
    const int8_t *src = in + (iy * p->input.w + lo - p->padding.w) * C;
#if TE_DW_ASM
    if (lo < hi) {
        te_dw_gather4_asm(src, C, dst, lo, hi);
    }
#else
    int32_t j = lo;
    if ((j & 1) && j < hi) {
        const uint32_t a = te_load_u32(src);
        int16_t *d = dst + 8 * (j >> 1) + 1;
        d[0] = (int8_t)a;
        d[2] = (int8_t)(a >> 8);
        d[4] = (int8_t)(a >> 16);
        d[6] = (int8_t)(a >> 24);
        ++j;
        src += C;
    }
    uint32_t *d = (uint32_t *)(void *)(dst + 4 * j);  /* j even: pair j / 2 */
    for (; j + 2 <= hi; j += 2, src += 2 * C, d += 4) {
        const uint32_t a = te_load_u32(src), b = te_load_u32(src + C);
        const uint32_t a02 = te_sxtb16(a), b02 = te_sxtb16(b), a13 = te_sxtb16_hi(a), b13 = te_sxtb16_hi(b);
        d[0] = te_dw_pkhbt(a02, b02);
        d[1] = te_dw_pkhbt(a13, b13);
        d[2] = te_dw_pkhtb(b02, a02);
        d[3] = te_dw_pkhtb(b13, a13);
    }
    if (j < hi) {
        const uint32_t a = te_load_u32(src);
        int16_t *e = dst + 4 * j;
        e[0] = (int8_t)a;
        e[2] = (int8_t)(a >> 8);
        e[4] = (int8_t)(a >> 16);
        e[6] = (int8_t)(a >> 24);
    }
#endif
}

#if TE_DW_ASM
/* One kernel row of te_dw_tile_row_at for K 3, S 1, P 4 on the ring's layout (PS 8: a channel's column pairs
 * 16 bytes apart): the row's 3 words at X, the taps ta[0..1] at [T, #TO] and tb[0..1] at [T, #TO + TB]. */
#define TE_DW_K3S1_ROW_ASM(X, TO, TB)                                                                          \
    "ldr %[v0], [%[" X "]]\n\t"                                                                                 \
    "ldr %[v1], [%[" X "], #16]\n\t"                                                                           \
    "ldr %[v2], [%[" X "], #32]\n\t"                                                                           \
    "ldr %[a], [%[t], #" TO "]\n\t"                                                                             \
    "ldr %[b], [%[t], #" TO "+" TB "]\n\t"                                                                      \
    "smlad %[c0], %[v0], %[a], %[c0]\n\t"                                                                      \
    "smlad %[c1], %[v0], %[b], %[c1]\n\t"                                                                      \
    "smlad %[c2], %[v1], %[a], %[c2]\n\t"                                                                      \
    "smlad %[c3], %[v1], %[b], %[c3]\n\t"                                                                      \
    "ldr %[a], [%[t], #" TO "+4]\n\t"                                                                           \
    "ldr %[b], [%[t], #" TO "+4+" TB "]\n\t"                                                                    \
    "smlad %[c0], %[v1], %[a], %[c0]\n\t"                                                                      \
    "smlad %[c1], %[v1], %[b], %[c1]\n\t"                                                                      \
    "smlad %[c2], %[v2], %[a], %[c2]\n\t"                                                                      \
    "smlad %[c3], %[v2], %[b], %[c3]\n\t"

/* acc[0..3] += the 3x3 tile at x0, x1, x2 (the kernel rows' first words), taps ta (tb = ta + TB bytes); the
 * same sums as te_dw_tile_row_at's three calls. TB is te_dw_ring4's tb - ta: 4 channels of 3 rows of 2 words. */
TE_ALWAYS_INLINE void te_dw_k3s1p4_asm(const int16_t *x0, const int16_t *x1, const int16_t *x2, const uint32_t *ta,
                                       int32_t *acc) {
    int32_t c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3];
    uint32_t v0, v1, v2, a, b;
    __asm volatile(TE_DW_K3S1_ROW_ASM("x0", "0", "96")
                   TE_DW_K3S1_ROW_ASM("x1", "8", "96")
                   TE_DW_K3S1_ROW_ASM("x2", "16", "96")
                   : [c0] "+r"(c0), [c1] "+r"(c1), [c2] "+r"(c2), [c3] "+r"(c3), [v0] "=&r"(v0), [v1] "=&r"(v1),
                     [v2] "=&r"(v2), [a] "=&r"(a), [b] "=&r"(b)
                   : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [t] "r"(ta)
                   : "memory");
    acc[0] = c0;
    acc[1] = c1;
    acc[2] = c2;
    acc[3] = c3;
}
#undef TE_DW_K3S1_ROW_ASM
#endif

#if TE_DW_ASM
/* A whole output row of a ring group's 4 channels for a 3x3 kernel, stride 1, whole int8 range (te_dw_ring4
 * with Full): te_dw_r4_row's tiles (4 outputs; the last 1-3 a tile of 1, 2 or 3 as there) with each channel's
 * constants at immediate offsets from the group's scratch, so no channel costs any pointer bookkeeping. The
 * routine uses the job as its state (row[], tiles and tail change); a single output after whole tiles makes the
 * last tile one of 5, which shares its loads. */
typedef struct {
    const int16_t *row[3];   /*  0: kernel rows 0-2's first column pair of the group's channel 0 (ring slots) */
    const uint32_t *taps;    /* 12: te_dw_ring4's scratch: ta (4 x 6 words), tb at +96 bytes, q[4] at +192 */
    const int32_t *bias;     /* 16: the group's 4 biases */
    int8_t *out;             /* 20: the group's channel 0 output at column 0 */
    int32_t step;            /* 24: bytes from one output of a channel to the next (the channel count) */
    int32_t tiles;           /* 28: whole tiles of 4 outputs (out_w / 4) */
    int32_t tail;            /* 32: outputs after them (out_w % 4) */
} te_dw_k3s1_job;

void te_dw_k3s1_row4_asm(te_dw_k3s1_job *job);

/* Registers: r0 job, r1 taps, r2 the tile's channel-0 output, r3 row / output pointer, r4-r6 input words,
 * r7-r8 taps (then multiplier and high), r9-r12 the tile's accumulators, lr the step. Channel c's words are
 * 4 c bytes into a column pair (16 bytes), its taps 24 c bytes into ta and tb, its te_quant_fast 12 c into q. */
__asm__(
    "\t.syntax unified\n"
    "\t.thumb\n"
    "\t.pushsection .text.te_dw_k3s1_row4_asm, \"ax\", %progbits\n"
    /* accumulator ACC requantized (te_dw_r4_tile's Full form) and stored at [r3]; r3 += step unless LAST */
    "\t.macro TE_DW_RQ acc, last, step=lr\n"
    "\tlsl r4, \\acc, #1\n"
    "\tsmmlar r4, r4, r7, r8\n"
    "\tadd r4, r4, \\acc, asr #31\n"
    "\tasr r4, r4, r6\n"
    "\tssat r4, #8, r4\n"
    "\tstrb r4, [r3]\n"
    "\t.if \\last == 0\n"
    "\tadd r3, r3, \\step\n"
    "\t.endif\n"
    "\t.endm\n"
    /* channel C's te_quant_fast into r7, r8, r6, the step into lr and its output pointer into r3 */
    "\t.macro TE_DW_RQ_SETUP c, step=lr\n"
    "\tldrd r7, r8, [r1, #192+12*\\c]\n"
    "\tldr r6, [r1, #200+12*\\c]\n"
    "\tldr \\step, [r0, #24]\n"
    "\tadd r3, r2, #\\c\n"
    "\t.endm\n"
    /* channel C, a tile of 4 outputs (3 or 4 stored: N) */
    "\t.macro TE_DW_CH4 c, n\n"
    "\tldr r9, [r0, #16]\n"
    "\tldr r9, [r9, #4*\\c]\n"
    "\tmov r10, r9\n"
    "\tmov r11, r9\n"
    "\tmov r12, r9\n"
    "\t.irp k, 0, 1, 2\n"
    "\tldr r3, [r0, #4*\\k]\n"
    "\tldr r4, [r3, #4*\\c]\n"
    "\tldr r5, [r3, #16+4*\\c]\n"
    "\tldr r6, [r3, #32+4*\\c]\n"
    "\tldrd r7, r8, [r1, #24*\\c+8*\\k]\n"
    "\tsmlad r9, r4, r7, r9\n"
    "\tsmlad r11, r5, r7, r11\n"
    "\tsmlad r9, r5, r8, r9\n"
    "\tsmlad r11, r6, r8, r11\n"
    "\tldrd r7, r8, [r1, #96+24*\\c+8*\\k]\n"
    "\tsmlad r10, r4, r7, r10\n"
    "\tsmlad r12, r5, r7, r12\n"
    "\tsmlad r10, r5, r8, r10\n"
    "\tsmlad r12, r6, r8, r12\n"
    "\t.endr\n"
    "\tTE_DW_RQ_SETUP \\c\n"
    "\tTE_DW_RQ r9, 0\n"
    "\tTE_DW_RQ r10, 0\n"
    "\t.if \\n == 4\n"
    "\tTE_DW_RQ r11, 0\n"
    "\tTE_DW_RQ r12, 1\n"
    "\t.else\n"
    "\tTE_DW_RQ r11, 1\n"
    "\t.endif\n"
    "\t.endm\n"
    /* channel C, a tile of 5 outputs (the last whole tile and a single output after it): the fifth
     * accumulator in lr, the step then in r5 */
    "\t.macro TE_DW_CH5 c\n"
    "\tldr r9, [r0, #16]\n"
    "\tldr r9, [r9, #4*\\c]\n"
    "\tmov r10, r9\n"
    "\tmov r11, r9\n"
    "\tmov r12, r9\n"
    "\tmov lr, r9\n"
    "\t.irp k, 0, 1, 2\n"
    "\tldr r3, [r0, #4*\\k]\n"
    "\tldr r4, [r3, #4*\\c]\n"
    "\tldr r5, [r3, #16+4*\\c]\n"
    "\tldr r6, [r3, #32+4*\\c]\n"
    "\tldrd r7, r8, [r1, #96+24*\\c+8*\\k]\n"
    "\tsmlad r10, r4, r7, r10\n"
    "\tsmlad r12, r5, r7, r12\n"
    "\tsmlad r10, r5, r8, r10\n"
    "\tsmlad r12, r6, r8, r12\n"
    "\tldrd r7, r8, [r1, #24*\\c+8*\\k]\n"
    "\tsmlad r9, r4, r7, r9\n"
    "\tsmlad r11, r5, r7, r11\n"
    "\tsmlad lr, r6, r7, lr\n"
    "\tsmlad r9, r5, r8, r9\n"
    "\tsmlad r11, r6, r8, r11\n"
    "\tldr r4, [r3, #48+4*\\c]\n"
    "\tsmlad lr, r4, r8, lr\n"
    "\t.endr\n"
    "\tTE_DW_RQ_SETUP \\c, r5\n"
    "\tTE_DW_RQ r9, 0, r5\n"
    "\tTE_DW_RQ r10, 0, r5\n"
    "\tTE_DW_RQ r11, 0, r5\n"
    "\tTE_DW_RQ r12, 0, r5\n"
    "\tTE_DW_RQ lr, 1, r5\n"
    "\t.endm\n"
    /* channel C, a tile of N (1 or 2) outputs */
    "\t.macro TE_DW_CH12 c, n\n"
    "\tldr r9, [r0, #16]\n"
    "\tldr r9, [r9, #4*\\c]\n"
    "\t.if \\n == 2\n"
    "\tmov r10, r9\n"
    "\t.endif\n"
    "\t.irp k, 0, 1, 2\n"
    "\tldr r3, [r0, #4*\\k]\n"
    "\tldr r4, [r3, #4*\\c]\n"
    "\tldr r5, [r3, #16+4*\\c]\n"
    "\tldrd r7, r8, [r1, #24*\\c+8*\\k]\n"
    "\tsmlad r9, r4, r7, r9\n"
    "\tsmlad r9, r5, r8, r9\n"
    "\t.if \\n == 2\n"
    "\tldrd r7, r8, [r1, #96+24*\\c+8*\\k]\n"
    "\tsmlad r10, r4, r7, r10\n"
    "\tsmlad r10, r5, r8, r10\n"
    "\t.endif\n"
    "\t.endr\n"
    "\tTE_DW_RQ_SETUP \\c\n"
    "\t.if \\n == 2\n"
    "\tTE_DW_RQ r9, 0\n"
    "\tTE_DW_RQ r10, 1\n"
    "\t.else\n"
    "\tTE_DW_RQ r9, 1\n"
    "\t.endif\n"
    "\t.endm\n"
    "\t.align 2\n"
    "\t.global te_dw_k3s1_row4_asm\n"
    "\t.type te_dw_k3s1_row4_asm, %function\n"
    "\t.thumb_func\n"
    "te_dw_k3s1_row4_asm:\n"
    "\tpush {r4-r11, lr}\n"
    "\tldr r1, [r0, #12]\n"
    "\tldr r2, [r0, #20]\n"
    "\tldr r3, [r0, #32]\n"
    "\tcmp r3, #1\n"
    "\tldr r3, [r0, #28]\n"
    "\tbne 0f\n"
    "\tcmp r3, #0\n"   /* a single output after whole tiles: the last tile is one of 5 (tail 5) */
    "\tbeq 2f\n"
    "\tmovs r4, #5\n"
    "\tstr r4, [r0, #32]\n"
    "\tsubs r3, r3, #1\n"
    "\tstr r3, [r0, #28]\n"
    "0:\n"
    "\tcmp r3, #0\n"
    "\tbeq 2f\n"
    "1:\n"
    "\tTE_DW_CH4 0, 4\n"
    "\tTE_DW_CH4 1, 4\n"
    "\tTE_DW_CH4 2, 4\n"
    "\tTE_DW_CH4 3, 4\n"
    "\tldm r0, {r4, r5, r6}\n"   /* the next tile: 2 column pairs (32 bytes) on, 4 outputs on */
    "\tadds r4, r4, #32\n"
    "\tadds r5, r5, #32\n"
    "\tadds r6, r6, #32\n"
    "\tstm r0, {r4, r5, r6}\n"
    "\tadd r2, r2, lr, lsl #2\n"
    "\tldr r3, [r0, #28]\n"
    "\tsubs r3, r3, #1\n"
    "\tstr r3, [r0, #28]\n"
    "\tbne 1b\n"
    "2:\n"
    "\tldr r3, [r0, #32]\n"
    "\tcmp r3, #2\n"
    "\tbeq 4f\n"
    "\tbgt 3f\n"
    "\tcmp r3, #1\n"
    "\tbne 6f\n"
    "\tTE_DW_CH12 0, 1\n"
    "\tTE_DW_CH12 1, 1\n"
    "\tTE_DW_CH12 2, 1\n"
    "\tTE_DW_CH12 3, 1\n"
    "\tb 6f\n"
    "3:\n"
    "\tcmp r3, #3\n"
    "\tbne 9f\n"
    "\tTE_DW_CH4 0, 3\n"
    "\tTE_DW_CH4 1, 3\n"
    "\tTE_DW_CH4 2, 3\n"
    "\tTE_DW_CH4 3, 3\n"
    "\tb 6f\n"
    "4:\n"
    "\tTE_DW_CH12 0, 2\n"
    "\tTE_DW_CH12 1, 2\n"
    "\tTE_DW_CH12 2, 2\n"
    "\tTE_DW_CH12 3, 2\n"
    "6:\n"
    "\tpop {r4-r11, pc}\n"
    "9:\n"
    "\tTE_DW_CH5 0\n"
    "\tTE_DW_CH5 1\n"
    "\tTE_DW_CH5 2\n"
    "\tTE_DW_CH5 3\n"
    "\tpop {r4-r11, pc}\n"
    "\t.size te_dw_k3s1_row4_asm, .-te_dw_k3s1_row4_asm\n"
    "\t.purgem TE_DW_RQ\n"
    "\t.purgem TE_DW_RQ_SETUP\n"
    "\t.purgem TE_DW_CH4\n"
    "\t.purgem TE_DW_CH12\n"
    "\t.purgem TE_DW_CH5\n"
    "\t.popsection\n");
#endif

/* The ring's whole-range requantization through SMMLAR (te_common.h's te_smml_fits), one instruction fewer an
 * output than te_quant_fast_scale. */
/* te_smml_fits' constants in te_quant_fast's fields: mult, K (high), r (shift). */
static inline te_quant_fast te_dw_smml_channel(int32_t multiplier, int32_t shift, int32_t output_offset) {
    te_quant_fast q;
    q.mult = multiplier;
    q.high = (int32_t)((uint32_t)(2 * output_offset + 1) << (-shift - 1));
    q.shift = -shift;
    return q;
}

/* One tile of P outputs (n stored) of a channel's output row from column ox: rows r, taps ta/tb. */
TE_ALWAYS_INLINE void te_dw_r4_tile(const int16_t *const *r, int32_t ox, const uint32_t *ta, const uint32_t *tb,
                                    int32_t bias, const te_quant_fast *q, int32_t lo, int32_t hi, int8_t *out,
                                    int32_t step, int32_t n, const int32_t K, const int32_t S, const int32_t P,
                                    const int Full, const int32_t Ch) {
    int32_t acc[TE_DW_TILE];
    TE_UNROLL
    for (int32_t j = 0; j < P; ++j) {
        acc[j] = bias;
    }
#if TE_DW_ASM
    if (K == 3 && S == 1 && P == 4) {   /* tb - ta: te_dw_ring4's 4 channels of 3 rows of 2 words (96 bytes) */
        const int32_t o = ox * S * 4 + 2 * Ch;
        te_dw_k3s1p4_asm(r[0] + o, r[1] + o, r[2] + o, ta, acc);
        (void)tb;
    } else
#endif
    {
        TE_UNROLL
        for (int32_t ky = 0; ky < K; ++ky) {
            te_dw_tile_row_at(r[ky] + ox * S * 4 + 2 * Ch, ta + ky * TE_DW_PAIRS(K), tb + ky * TE_DW_PAIRS(K), acc,
                              K, S, P, 8);
            TE_DW_BARRIER();  /* a kernel row's loads stay after the previous row's MACs: fewer values live */
        }
    }
    const te_quant_fast qv = *q;
    TE_UNROLL
    for (int32_t j = 0; j < P; ++j) {
        if (j < n) {
            if (Full) {  /* the activation clamps to int8's range: one SSAT; te_smml_fits' constants */
                const int32_t a = acc[j];
                out[j * step] = (int8_t)te_sat_s8((te_smmlar(a + a, qv.mult, qv.high) + (a >> 31)) >> qv.shift);
            } else {
                int32_t v = te_quant_fast_scale(qv, acc[j]);
                v = TE_MAX(v, lo);
                out[j * step] = (int8_t)TE_MIN(v, hi);
            }
            TE_DW_BARRIER();  /* one output's requantization at a time: fewer values live */
        }
    }
}

/* te_dw_r4_row's taps, constants and row pointers as a, b, qt and rr, hidden from the optimizer (TE_DW_OPAQUE):
 * loaded where a tile uses them, not held (and spilled) across the row. */
#define TE_DW_ROW_ARGS_HIDDEN                                                                                  \
    const uint32_t *a = ta, *b = tb;                                                                           \
    const te_quant_fast *qt = q;                                                                               \
    const int16_t *const *rr = r;                                                                              \
    TE_DW_OPAQUE(a);                                                                                           \
    TE_DW_OPAQUE(b);                                                                                           \
    TE_DW_OPAQUE(qt);                                                                                          \
    TE_DW_OPAQUE(rr)

/* A channel's output row (out_w outputs to out[0], out[step], ...) from its K rows r. */
TE_ALWAYS_INLINE void te_dw_r4_row(const int16_t *const *r, const uint32_t *ta, const uint32_t *tb, int32_t bias,
                                   const te_quant_fast *q, int32_t lo, int32_t hi, int8_t *out, int32_t step,
                                   int32_t out_w, const int32_t K, const int32_t S, const int Full,
                                   const int32_t Ch) {
    int32_t ox = 0;
    for (; ox + TE_DW_TILE <= out_w; ox += TE_DW_TILE) {
        TE_DW_ROW_ARGS_HIDDEN;
        te_dw_r4_tile(rr, ox, a, b, bias, qt, lo, hi, out + ox * step, step, TE_DW_TILE, K, S, TE_DW_TILE, Full, Ch);
    }
    /* the last 1-3 outputs: one tile of that many (its reads stay inside the row's slack, as
     * te_dw_channel_fast's: a row has one value past its padded width) */
    int8_t *o = out + ox * step;
    const int32_t n = out_w - ox;
    TE_DW_ROW_ARGS_HIDDEN;
    if (n == 3) {
        te_dw_r4_tile(rr, ox, a, b, bias, qt, lo, hi, o, step, 3, K, S, 3, Full, Ch);
    } else if (n == 2) {
        te_dw_r4_tile(rr, ox, a, b, bias, qt, lo, hi, o, step, 2, K, S, 2, Full, Ch);
    } else if (n == 1) {
        te_dw_r4_tile(rr, ox, a, b, bias, qt, lo, hi, o, step, 1, K, S, 1, Full, Ch);
    }
}
#undef TE_DW_ROW_ARGS_HIDDEN

/* The whole groups of 4 channels (te_dw_ring4_bytes of scratch); returns the channels done (the rest are the
 * caller's). Every channel's requantization must be te_quant_fast's. */
TE_ALWAYS_INLINE int32_t te_dw_ring4(const te_dw_params *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                     int8_t *output, int8_t *scratch, const int32_t K, const int32_t S,
                                     const int Full) {
    const int32_t T = K * TE_DW_PAIRS(K);
    uint32_t *const ta = (uint32_t *)(void *)scratch;
    uint32_t *const tb = ta + 4 * T;
    te_quant_fast *const q = (te_quant_fast *)(void *)(ta + 4 * T * (S == 1 ? 2 : 1));
    int16_t *const rows = (int16_t *)(void *)(q + 4);
    const int32_t len = te_dw_row_len(p);
    const int32_t lo_col = TE_MIN(p->padding.w, len), hi_col = TE_MIN(p->padding.w + p->input.w, len);
    const int32_t C = p->output.c, out_w = p->output.w, out_h = p->output.h, sh = p->stride.h;
    const int32_t pad_top = p->padding.h, lo = p->activation.min, hi = p->activation.max;
    const int32_t groups = C / 4;
    te_dw_fill(rows, 0, 4 * K * len, (int16_t)(-p->input_offset));
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t c0 = 4 * g;
        for (int32_t j = 0; j < 4; ++j) {
            te_dw_tap_words(filter + (c0 + j) * K * K, ta + j * T, S == 1 ? tb + j * T : NULL, K);
            q[j] = Full ? te_dw_smml_channel(mult[c0 + j], shift[c0 + j], p->output_offset)
                        : te_quant_fast_channel(mult[c0 + j], shift[c0 + j], p->output_offset);
        }
        const int8_t *in = input + c0;
        int32_t row = -pad_top, slot = 0;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * sh - pad_top;
            if (row < iy0) {  /* a stride larger than the kernel skips rows */
                slot = (slot + iy0 - row) % K;
                row = iy0;
            }
            for (; row < iy0 + K; ++row) {
                te_dw_gather4(p, in, row, rows + slot * 4 * len, len, lo_col, hi_col);
                slot = slot + 1 == K ? 0 : slot + 1;
            }
            int8_t *out = output + oy * out_w * C + c0;
            const int16_t *r[TE_DW_MAX_K];  /* the slots of kernel rows 0.., from the slot of row iy0 */
            int32_t s = slot;
            TE_UNROLL
            for (int32_t ky = 0; ky < K; ++ky) {
                r[ky] = rows + s * 4 * len;
                s = s + 1 == K ? 0 : s + 1;
            }
#if TE_DW_ASM
            if (Full && K == 3 && S == 1) {
                te_dw_k3s1_job job = {{r[0], r[1], r[2]}, ta, bias + c0, out, C, out_w / 4, out_w % 4};
                te_dw_k3s1_row4_asm(&job);
            } else
#endif
            if (Full) {
                TE_UNROLL  /* channel c of the group a constant: its words at immediate offsets */
                for (int32_t c = 0; c < 4; ++c) {
                    te_dw_r4_row(r, ta + c * T, tb + c * T, bias[c0 + c], q + c, lo, hi, out + c, C, out_w, K, S,
                                 Full, c);
                }
            } else {  /* a clamped activation (rarer): one copy of the row's code */
                for (int32_t c = 0; c < 4; ++c) {
                    te_dw_r4_row(r, ta + c * T, tb + c * T, bias[c0 + c], q + c, lo, hi, out + c, C, out_w, K, S,
                                 Full, c);
                }
            }
        }
    }
    return groups * 4;
}

#define TE_DW_RING4_FN(K, S)                                                                                   \
    static TE_DW_NOINLINE int32_t te_dw_ring4_k##K##_s##S(const te_dw_params *p, const int8_t *input,         \
                                                          const int8_t *filter, const int32_t *bias,           \
                                                          const int32_t *mult, const int32_t *shift,           \
                                                          int8_t *output, int8_t *scratch) {                   \
        if (p->activation.min == -128 && p->activation.max == 127 &&                                           \
            te_smml_fits(bias, mult, shift, p->output.c, p->kernel.h * p->kernel.w, p->output_offset)) {       \
            return te_dw_ring4(p, input, filter, bias, mult, shift, output, scratch, K, S, 1);                 \
        }                                                                                                      \
        return te_dw_ring4(p, input, filter, bias, mult, shift, output, scratch, K, S, 0);                     \
    }
TE_DW_RING4_FN(3, 1)
TE_DW_RING4_FN(3, 2)
TE_DW_RING4_FN(5, 1)
TE_DW_RING4_FN(5, 2)
TE_DW_RING4_FN(7, 1)
TE_DW_RING4_FN(7, 2)

typedef int32_t (*te_dw_ring4_fn)(const te_dw_params *, const int8_t *, const int8_t *, const int32_t *,
                                  const int32_t *, const int32_t *, int8_t *, int8_t *);

/* The ring's function for kernel K where it applies (te_dw_ring4_bytes not 0 and within `room` bytes of
 * scratch, every channel's requantization te_quant_fast's), NULL elsewhere. */
static te_dw_ring4_fn te_dw_ring4_of(const te_dw_params *p, const int32_t *mult, const int32_t *shift,
                                     int32_t room, const int32_t K) {
    const int32_t need = te_dw_ring4_bytes(p);
    if (!K || need == 0 || need > room) {
        return NULL;
    }
    if (!te_quant_fast_fits(0, -2, p->output_offset)) {   /* the output offset, once */
        return NULL;
    }
    for (int32_t c = 0; c < p->output.c; ++c) {   /* te_quant_fast_fits' multiplier >= 0, shift in [-23, -2] */
        if (mult[c] < 0 || (uint32_t)(-shift[c] - 2) >= 22u) {
            return NULL;
        }
    }
    const int s1 = p->stride.w == 1;
    return K == 3 ? (s1 ? te_dw_ring4_k3_s1 : te_dw_ring4_k3_s2)
                  : K == 5 ? (s1 ? te_dw_ring4_k5_s1 : te_dw_ring4_k5_s2) : (s1 ? te_dw_ring4_k7_s1 : te_dw_ring4_k7_s2);
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
    const te_dw_ring4_fn ring4 = te_dw_ring4_of(p, mult, shift, te_dw_work_bytes(p), K);
    if (ring4 != NULL) {
        oc = ring4(p, input, filter, bias, mult, shift, output, scratch);
    }
#endif
    te_dw_channels_from(p, input, filter, bias, mult, shift, output, scratch, oc, K);
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
        /* the channel groups' ring (te_dw_ring4) in the whole scratch */
        const te_dw_ring4_fn ring4 =
            te_dw_ring4_of(p, mult, shift, te_depthwise_conv_s8_inplace_get_buffer_size(p), K);
        if (ring4 != NULL) {
            const int32_t done = ring4(p, input, filter, bias, mult, shift, output, scratch);
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
