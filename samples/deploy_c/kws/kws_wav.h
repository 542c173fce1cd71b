/* KWS sample: read a 16 kHz, 16-bit, mono PCM wav file (the Speech Commands format) into int16 samples.
 *
 * RIFF/WAVE with a "fmt " chunk of format 1 (PCM) or 0xFFFE (extensible, PCM sub-format), 1 channel, 16 bits,
 * 16000 Hz; other chunks (LIST, fact, ...) are skipped. The first max_samples samples of the "data" chunk are
 * read; a shorter clip is zero-padded to max_samples, as samples.kws.fit_clip does, so
 * kws_wav_read_file(path, buf, 16000, &n) gives exactly fit_clip(read_wav(path)).
 *
 * C99, no allocation: one static 512-byte read buffer; not reentrant. */
#ifndef KWS_WAV_H
#define KWS_WAV_H

#include <stddef.h>
#include <stdint.h>

#define KWS_WAV_SAMPLE_RATE 16000u

typedef enum {
    KWS_WAV_OK = 0,
    KWS_WAV_ERR_ARGUMENT,    /* a null pointer */
    KWS_WAV_ERR_IO,          /* the file could not be opened or read */
    KWS_WAV_ERR_NOT_WAV,     /* no RIFF/WAVE header, or no fmt / data chunk */
    KWS_WAV_ERR_UNSUPPORTED, /* not 16-bit mono 16 kHz PCM */
    KWS_WAV_ERR_TRUNCATED    /* the data end before the chunk sizes say */
} kws_wav_status;

/* Reads n bytes at byte offset into dst; returns 0 on success, nonzero when they are not there. */
typedef int (*kws_wav_read_fn)(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n);

/* Decode the wav served by read(ctx, ...) into samples[max_samples]; *num_read (when not NULL) gets the number of
 * samples the file held, up to max_samples. Returns a kws_wav_status. */
int kws_wav_decode(kws_wav_read_fn read, void *ctx, int16_t *samples, uint32_t max_samples, uint32_t *num_read);

/* The same for a wav held in memory. */
int kws_wav_decode_memory(const uint8_t *data, size_t size, int16_t *samples, uint32_t max_samples,
                          uint32_t *num_read);

/* The same for a wav file (stdio). */
int kws_wav_read_file(const char *path, int16_t *samples, uint32_t max_samples, uint32_t *num_read);

/* A short English description of a kws_wav_status. */
const char *kws_wav_status_string(int status);

#endif /* KWS_WAV_H */
