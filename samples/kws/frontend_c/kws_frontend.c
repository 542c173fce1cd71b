/* KWS sample: MFCC front end. See kws_frontend.h. */
#include "kws_frontend.h"

#include <math.h>

#include "kws_frontend_tables.h"
#include "sample_quantize.h"

#if KWS_TABLES_WINDOW_SAMPLES != KWS_WINDOW_SAMPLES || KWS_TABLES_FFT_LENGTH != KWS_FFT_LENGTH || \
    KWS_TABLES_NUM_MEL_BINS != KWS_NUM_MEL_BINS || KWS_TABLES_NUM_MFCC != KWS_NUM_MFCC
#error "kws_frontend_tables.h was generated for another front-end configuration"
#endif

#define FFT_HALF (KWS_FFT_LENGTH / 2)

static float s_fft[2 * FFT_HALF];                /* FFT_HALF complex values, re/im interleaved */
static float s_magnitude[KWS_SPECTRUM_BINS_USED]; /* |X[k]| of the bins the mel filters read */

/* In-place radix-2 decimation-in-time FFT of FFT_HALF complex values. The twiddle of a butterfly span len is
 * exp(-2 pi i k / len) = table entry k * KWS_FFT_LENGTH / len. */
static void fft_half(float *z) {
    int i, j = 0, len;
    for (i = 1; i < FFT_HALF; ++i) {
        int bit = FFT_HALF >> 1;
        for (; j & bit; bit >>= 1) {
            j ^= bit;
        }
        j ^= bit;
        if (i < j) {
            float tr = z[2 * i], ti = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = tr;
            z[2 * j + 1] = ti;
        }
    }
    for (len = 2; len <= FFT_HALF; len <<= 1) {
        const int half = len / 2, step = KWS_FFT_LENGTH / len;
        int start, k;
        for (start = 0; start < FFT_HALF; start += len) {
            for (k = 0; k < half; ++k) {
                const float wr = kws_twiddle_cos[k * step], wi = -kws_twiddle_sin[k * step];
                float *a = z + 2 * (start + k), *b = z + 2 * (start + k + half);
                const float tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

/* |X[k]| for k < KWS_SPECTRUM_BINS_USED of the windowed, zero-padded frame: a KWS_FFT_LENGTH-point real FFT
 * computed as a FFT_HALF-point complex FFT of (even, odd) sample pairs and split into even and odd parts. */
static void magnitude_spectrum(const int16_t *frame) {
    int n, k;
    for (n = 0; n < 2 * FFT_HALF; ++n) {
        s_fft[n] = n < KWS_WINDOW_SAMPLES ? ((float)frame[n] / 32768.0f) * kws_window[n] : 0.0f;
    }
    fft_half(s_fft);
    for (k = 0; k < KWS_SPECTRUM_BINS_USED; ++k) {
        const int a = k % FFT_HALF, b = (FFT_HALF - k) % FFT_HALF;
        const float zr = s_fft[2 * a], zi = s_fft[2 * a + 1];
        const float cr = s_fft[2 * b], ci = -s_fft[2 * b + 1]; /* conj(Z[N/2 - k]) */
        const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);       /* even-sample spectrum */
        const float odr = 0.5f * (zi - ci), odi = -0.5f * (zr - cr);    /* odd-sample spectrum */
        const float c = kws_twiddle_cos[k], s = kws_twiddle_sin[k];     /* exp(-2 pi i k / N) = c - i s */
        const float xr = er + odr * c + odi * s, xi = ei + odi * c - odr * s;
        s_magnitude[k] = sqrtf(xr * xr + xi * xi);
    }
}

void kws_frontend_frame(const int16_t *frame, float *mfcc) {
    float log_mel[KWS_NUM_MEL_BINS];
    int m, k, b;
    magnitude_spectrum(frame);
    for (m = 0; m < KWS_NUM_MEL_BINS; ++m) {
        const float *w = kws_mel_weights + kws_mel_weight_offset[m];
        const float *mag = s_magnitude + kws_mel_first_bin[m];
        float sum = 0.0f;
        for (b = 0; b < kws_mel_num_bins[m]; ++b) {
            sum += mag[b] * w[b];
        }
        log_mel[m] = logf(sum + KWS_LOG_OFFSET);
    }
    for (k = 0; k < KWS_NUM_MFCC; ++k) {
        float sum = 0.0f;
        for (m = 0; m < KWS_NUM_MEL_BINS; ++m) {
            sum += log_mel[m] * kws_dct[m][k];
        }
        mfcc[k] = sum;
    }
}

void kws_frontend_compute(const int16_t *audio, float *features) {
    int f;
    for (f = 0; f < KWS_NUM_FRAMES; ++f) {
        kws_frontend_frame(audio + f * KWS_HOP_SAMPLES, features + f * KWS_NUM_MFCC);
    }
}

void kws_quantize_features(const float *in, size_t n, float scale, int32_t zero_point, int8_t *out) {
    size_t i;
    for (i = 0; i < n; ++i) {
        out[i] = sample_quantize_int8(in[i], scale, zero_point);
    }
}

void kws_frontend_compute_int8(const int16_t *audio, float scale, int32_t zero_point, int8_t *features) {
    float mfcc[KWS_NUM_MFCC];
    int f;
    for (f = 0; f < KWS_NUM_FRAMES; ++f) {
        kws_frontend_frame(audio + f * KWS_HOP_SAMPLES, mfcc);
        kws_quantize_features(mfcc, KWS_NUM_MFCC, scale, zero_point, features + f * KWS_NUM_MFCC);
    }
}
