/* VWW sample: BMP -> int8 input tensor. See vww_image_reader.h for the exact rules. */
#include "vww_image_reader.h"

#include <stdio.h>

#include "sample_quantize.h"

static uint8_t s_row[VWW_BMP_MAX_ROW_BYTES];
static uint8_t s_palette[256][4]; /* B, G, R, reserved */

static uint32_t read_u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int32_t read_i32(const uint8_t *p) {
    uint32_t u = read_u32(p);
    return u >= 0x80000000u ? -(int32_t)(~u) - 1 : (int32_t)u;
}

/* floor((2 * i + 1) * src / (2 * dst)): the nearest source index of output index i. */
static uint32_t nearest_index(uint32_t i, uint32_t src, uint32_t dst) {
    return (uint32_t)(((2u * (uint64_t)i + 1u) * src) / (2u * (uint64_t)dst));
}

static int8_t to_input(uint32_t v, float scale, int32_t zero_point) {
    return sample_quantize_int8((float)v / 255.0f, scale, zero_point);
}

int vww_bmp_decode(vww_bmp_read_fn read, void *ctx, int out_h, int out_w, int out_c, float scale,
                   int32_t zero_point, int8_t *out) {
    uint8_t header[54];
    uint32_t data_offset, dib_size, bpp, compression, width, height, stride, palette_size = 0;
    int32_t signed_height;
    int bottom_up;
    int y, x;
    if (read == NULL || out == NULL || out_h <= 0 || out_w <= 0 || (out_c != 1 && out_c != 3)) {
        return VWW_BMP_ERR_ARGUMENT;
    }
    if (read(ctx, 0u, header, 2u) != 0) {
        return VWW_BMP_ERR_IO;
    }
    if (header[0] != 'B' || header[1] != 'M') {
        return VWW_BMP_ERR_NOT_BMP;
    }
    if (read(ctx, 0u, header, (uint32_t)sizeof header) != 0) {
        return VWW_BMP_ERR_TRUNCATED;
    }
    data_offset = read_u32(header + 10);
    dib_size = read_u32(header + 14);
    if (dib_size < 40u) { /* OS/2 BITMAPCOREHEADER and unknown headers */
        return VWW_BMP_ERR_NOT_BMP;
    }
    width = (uint32_t)read_i32(header + 18);
    signed_height = read_i32(header + 22);
    bpp = read_u16(header + 28);
    compression = read_u32(header + 30);
    if (read_i32(header + 18) <= 0 || signed_height == 0 || signed_height == INT32_MIN ||
        read_u16(header + 26) != 1u) {
        return VWW_BMP_ERR_NOT_BMP;
    }
    if ((bpp != 8u && bpp != 24u) || compression != 0u) {
        return VWW_BMP_ERR_UNSUPPORTED;
    }
    bottom_up = signed_height > 0;
    height = (uint32_t)(bottom_up ? signed_height : -signed_height);
    if (width > (VWW_BMP_MAX_ROW_BYTES * 8u) / bpp) {
        return VWW_BMP_ERR_TOO_WIDE;
    }
    stride = ((bpp * width + 31u) / 32u) * 4u;
    if (bpp == 8u) {
        palette_size = read_u32(header + 46);
        if (palette_size == 0u || palette_size > 256u) {
            palette_size = 256u;
        }
        if (read(ctx, 14u + dib_size, &s_palette[0][0], 4u * palette_size) != 0) {
            return VWW_BMP_ERR_TRUNCATED;
        }
    }
    for (y = 0; y < out_h; ++y) {
        uint32_t sy = nearest_index((uint32_t)y, height, (uint32_t)out_h);
        uint32_t file_row = bottom_up ? height - 1u - sy : sy;
        if (read(ctx, data_offset + file_row * stride, s_row, (bpp * width + 7u) / 8u) != 0) {
            return VWW_BMP_ERR_TRUNCATED;
        }
        for (x = 0; x < out_w; ++x) {
            uint32_t sx = nearest_index((uint32_t)x, width, (uint32_t)out_w);
            const uint8_t *bgr;
            int8_t *dst = out + ((size_t)y * (size_t)out_w + (size_t)x) * (size_t)out_c;
            if (bpp == 8u) {
                if (s_row[sx] >= palette_size) {
                    return VWW_BMP_ERR_CORRUPT;
                }
                bgr = s_palette[s_row[sx]];
            } else {
                bgr = s_row + 3u * sx;
            }
            if (out_c == 3) {
                dst[0] = to_input(bgr[2], scale, zero_point);
                dst[1] = to_input(bgr[1], scale, zero_point);
                dst[2] = to_input(bgr[0], scale, zero_point);
            } else {
                uint32_t luma = (19595u * bgr[2] + 38470u * bgr[1] + 7471u * bgr[0] + 32768u) >> 16;
                dst[0] = to_input(luma, scale, zero_point);
            }
        }
    }
    return VWW_BMP_OK;
}

typedef struct {
    const uint8_t *data;
    size_t size;
} memory_source;

static int read_memory(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n) {
    const memory_source *src = (const memory_source *)ctx;
    uint32_t i;
    if ((size_t)offset > src->size || (size_t)n > src->size - (size_t)offset) {
        return 1;
    }
    for (i = 0; i < n; ++i) {
        dst[i] = src->data[offset + i];
    }
    return 0;
}

int vww_bmp_decode_memory(const uint8_t *data, size_t size, int out_h, int out_w, int out_c, float scale,
                          int32_t zero_point, int8_t *out) {
    memory_source src;
    if (data == NULL) {
        return VWW_BMP_ERR_ARGUMENT;
    }
    src.data = data;
    src.size = size;
    return vww_bmp_decode(read_memory, &src, out_h, out_w, out_c, scale, zero_point, out);
}

static int read_file(void *ctx, uint32_t offset, uint8_t *dst, uint32_t n) {
    FILE *f = (FILE *)ctx;
    if (offset > 0x7fffffffu || fseek(f, (long)offset, SEEK_SET) != 0) {
        return 1;
    }
    return fread(dst, 1u, n, f) == (size_t)n ? 0 : 1;
}

int vww_bmp_read_file(const char *path, int out_h, int out_w, int out_c, float scale, int32_t zero_point,
                      int8_t *out) {
    FILE *f;
    int status;
    if (path == NULL) {
        return VWW_BMP_ERR_ARGUMENT;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return VWW_BMP_ERR_IO;
    }
    status = vww_bmp_decode(read_file, f, out_h, out_w, out_c, scale, zero_point, out);
    if (fclose(f) != 0 && status == VWW_BMP_OK) {
        status = VWW_BMP_ERR_IO;
    }
    return status;
}

const char *vww_bmp_status_string(int status) {
    switch (status) {
    case VWW_BMP_OK: return "ok";
    case VWW_BMP_ERR_ARGUMENT: return "bad argument (output shape, channels or null pointer)";
    case VWW_BMP_ERR_IO: return "cannot open or read the file";
    case VWW_BMP_ERR_NOT_BMP: return "not a BMP file (Windows BITMAPINFOHEADER or later)";
    case VWW_BMP_ERR_UNSUPPORTED: return "unsupported BMP: only uncompressed 8-bit palette and 24-bit";
    case VWW_BMP_ERR_TRUNCATED: return "truncated BMP";
    case VWW_BMP_ERR_TOO_WIDE: return "BMP row longer than VWW_BMP_MAX_ROW_BYTES";
    case VWW_BMP_ERR_CORRUPT: return "corrupt BMP: palette index out of range";
    default: return "unknown status";
    }
}
