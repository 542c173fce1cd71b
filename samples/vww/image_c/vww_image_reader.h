/* VWW sample: read an uncompressed 8-bit (palette) or 24-bit BMP into the model's int8 input tensor.
 *
 * Output layout is HWC (the NHWC input tensor of batch 1). Each output pixel takes the nearest source pixel,
 * source row floor((y + 0.5) * H / out_h) and column floor((x + 0.5) * W / out_w) (integer arithmetic);
 * one channel is the ITU-R 601-2 luma (19595 R + 38470 G + 7471 B + 32768) >> 16; the 8-bit value v becomes
 * v / 255.0f in [0, 1] and is quantized with the model input's scale and zero point (sample_quantize.h).
 * This is exactly what samples/vww/data.py load_image() + samples/quantize.py quantize_int8() compute.
 *
 * C99, no allocation: one static row buffer of VWW_BMP_MAX_ROW_BYTES (define it to change the widest row)
 * and a static palette. Not reentrant. */
#ifndef VWW_IMAGE_READER_H
#define VWW_IMAGE_READER_H

#include <stddef.h>
#include <stdint.h>

#ifndef VWW_BMP_MAX_ROW_BYTES
#define VWW_BMP_MAX_ROW_BYTES 8192u
#endif

typedef enum {
    VWW_BMP_OK = 0,
    VWW_BMP_ERR_ARGUMENT,    /* bad output shape, channels other than 1 or 3, or a null pointer */
    VWW_BMP_ERR_IO,          /* the file could not be opened or read */
    VWW_BMP_ERR_NOT_BMP,     /* no "BM" signature or an unknown header */
    VWW_BMP_ERR_UNSUPPORTED, /* not 8-bit palette or 24-bit, or compressed */
    VWW_BMP_ERR_TRUNCATED,   /* the data end before the pixels do */
    VWW_BMP_ERR_TOO_WIDE,    /* a row is longer than VWW_BMP_MAX_ROW_BYTES */
    VWW_BMP_ERR_CORRUPT      /* a palette index past the palette */
} vww_bmp_status;

/* Reads n bytes at byte offset into dst; returns 0 on success, nonzero when they are not there. */
typedef int (*vww_bmp_read_fn)(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n);

/* Decode a BMP served by read(ctx, ...) into out[out_h * out_w * out_c]. Returns a vww_bmp_status. */
int vww_bmp_decode(vww_bmp_read_fn read, void *ctx, int out_h, int out_w, int out_c, float scale,
                   int32_t zero_point, int8_t *out);

/* Decode a BMP held in memory (e.g. a camera frame or a const array in flash). */
int vww_bmp_decode_memory(const uint8_t *data, size_t size, int out_h, int out_w, int out_c, float scale,
                          int32_t zero_point, int8_t *out);

/* Decode a BMP file (stdio). */
int vww_bmp_read_file(const char *path, int out_h, int out_w, int out_c, float scale, int32_t zero_point,
                      int8_t *out);

/* A short English description of a vww_bmp_status. */
const char *vww_bmp_status_string(int status);

#endif /* VWW_IMAGE_READER_H */
