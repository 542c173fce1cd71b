/* KWS sample: 16 kHz 16-bit mono PCM wav reader. See kws_wav.h. */
#include "kws_wav.h"

#include <stdio.h>
#include <string.h>

#define CHUNK_BYTES 512u

static uint8_t s_buffer[CHUNK_BYTES];

static uint32_t read_u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int check_format(const uint8_t *fmt, uint32_t size) {
    uint32_t format;
    if (size < 16u) {
        return KWS_WAV_ERR_NOT_WAV;
    }
    format = read_u16(fmt);
    if (format == 0xFFFEu) { /* WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the format code */
        if (size < 40u) {
            return KWS_WAV_ERR_NOT_WAV;
        }
        format = read_u16(fmt + 24);
    }
    if (format != 1u || read_u16(fmt + 2) != 1u || read_u32(fmt + 4) != KWS_WAV_SAMPLE_RATE ||
        read_u16(fmt + 14) != 16u || read_u16(fmt + 12) != 2u) {
        return KWS_WAV_ERR_UNSUPPORTED;
    }
    return KWS_WAV_OK;
}

/* samples[0..n) <- n little-endian int16 values at byte offset pos, through the static buffer. */
static int read_samples(kws_wav_read_fn read, void *ctx, uint32_t pos, int16_t *samples, uint32_t n) {
    uint32_t done = 0u;
    while (done < n) {
        uint32_t count = n - done, i;
        if (count > CHUNK_BYTES / 2u) {
            count = CHUNK_BYTES / 2u;
        }
        if (read(ctx, pos + 2u * done, s_buffer, 2u * count) != 0) {
            return 1;
        }
        for (i = 0u; i < count; ++i) {
            uint32_t u = read_u16(s_buffer + 2u * i);
            samples[done + i] = (int16_t)(u >= 0x8000u ? (int32_t)u - 65536 : (int32_t)u);
        }
        done += count;
    }
    return 0;
}

int kws_wav_decode(kws_wav_read_fn read, void *ctx, int16_t *samples, uint32_t max_samples, uint32_t *num_read) {
    uint8_t header[12];
    uint8_t chunk[8];
    uint8_t fmt[40];
    uint32_t offset = 12u, riff_end, n = 0u;
    int have_fmt = 0;
    if (read == NULL || samples == NULL) {
        return KWS_WAV_ERR_ARGUMENT;
    }
    if (num_read != NULL) {
        *num_read = 0u;
    }
    if (read(ctx, 0u, header, 4u) != 0) {
        return KWS_WAV_ERR_IO;
    }
    if (read(ctx, 0u, header, 12u) != 0 || memcmp(header, "RIFF", 4u) != 0 || memcmp(header + 8, "WAVE", 4u) != 0) {
        return KWS_WAV_ERR_NOT_WAV;
    }
    riff_end = read_u32(header + 4) > 0xFFFFFFF7u ? 0xFFFFFFFFu : read_u32(header + 4) + 8u;
    for (;;) {
        uint32_t size;
        if (offset + 8u > riff_end || read(ctx, offset, chunk, 8u) != 0) {
            return KWS_WAV_ERR_NOT_WAV; /* the chunks ended without a data chunk */
        }
        size = read_u32(chunk + 4);
        if (memcmp(chunk, "fmt ", 4u) == 0) {
            uint32_t take = size < (uint32_t)sizeof fmt ? size : (uint32_t)sizeof fmt;
            int status;
            if (read(ctx, offset + 8u, fmt, take) != 0) {
                return KWS_WAV_ERR_TRUNCATED;
            }
            status = check_format(fmt, take);
            if (status != KWS_WAV_OK) {
                return status;
            }
            have_fmt = 1;
        } else if (memcmp(chunk, "data", 4u) == 0) {
            uint32_t available = size / 2u, pos = offset + 8u;
            if (!have_fmt) {
                return KWS_WAV_ERR_NOT_WAV;
            }
            n = available < max_samples ? available : max_samples;
            if (read_samples(read, ctx, pos, samples, n) != 0) {
                return KWS_WAV_ERR_TRUNCATED;
            }
            if (n < available) {
                /* Python's reader rejects a file whose data chunk is longer than the file: check the last byte. */
                if (read(ctx, pos + 2u * available - 1u, s_buffer, 1u) != 0) {
                    return KWS_WAV_ERR_TRUNCATED;
                }
            }
            break;
        }
        if (size > 0xFFFFFFFFu - offset - 9u) {
            return KWS_WAV_ERR_NOT_WAV;
        }
        offset += 8u + size + (size & 1u); /* chunks are padded to an even size */
    }
    if (num_read != NULL) {
        *num_read = n;
    }
    for (; n < max_samples; ++n) {
        samples[n] = 0;
    }
    return KWS_WAV_OK;
}

typedef struct {
    const uint8_t *data;
    size_t size;
} memory_source;

static int read_memory(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n) {
    const memory_source *m = (const memory_source *)ctx;
    if ((size_t)offset > m->size || (size_t)n > m->size - (size_t)offset) {
        return 1;
    }
    memcpy(dst, m->data + offset, n);
    return 0;
}

int kws_wav_decode_memory(const uint8_t *data, size_t size, int16_t *samples, uint32_t max_samples,
                          uint32_t *num_read) {
    memory_source m;
    if (data == NULL) {
        return KWS_WAV_ERR_ARGUMENT;
    }
    m.data = data;
    m.size = size;
    return kws_wav_decode(read_memory, &m, samples, max_samples, num_read);
}

static int read_file(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n) {
    FILE *f = (FILE *)ctx;
    if (offset > 0x7fffffffu || fseek(f, (long)offset, SEEK_SET) != 0) {
        return 1;
    }
    return fread(dst, 1u, n, f) == (size_t)n ? 0 : 1;
}

int kws_wav_read_file(const char *path, int16_t *samples, uint32_t max_samples, uint32_t *num_read) {
    FILE *f;
    int status;
    if (path == NULL) {
        return KWS_WAV_ERR_ARGUMENT;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return KWS_WAV_ERR_IO;
    }
    status = kws_wav_decode(read_file, f, samples, max_samples, num_read);
    if (fclose(f) != 0 && status == KWS_WAV_OK) {
        status = KWS_WAV_ERR_IO;
    }
    return status;
}

const char *kws_wav_status_string(int status) {
    switch (status) {
    case KWS_WAV_OK: return "ok";
    case KWS_WAV_ERR_ARGUMENT: return "bad argument (null pointer)";
    case KWS_WAV_ERR_IO: return "cannot open or read the file";
    case KWS_WAV_ERR_NOT_WAV: return "not a RIFF/WAVE file with fmt and data chunks";
    case KWS_WAV_ERR_UNSUPPORTED: return "unsupported wav: need 16-bit mono 16000 Hz PCM";
    case KWS_WAV_ERR_TRUNCATED: return "truncated wav file";
    default: return "unknown status";
    }
}
