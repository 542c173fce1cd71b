"""RESIZE_BILINEAR of int8 activations (te_resize_bilinear_s8), as TFLite's integer kernel (used by LiteRT's
reference kernels and TFLite Micro for int8) computes it: the scale in 10-bit fixed point, each output
coordinate's two neighbours and fraction from integer arithmetic done here at compile time, the four
products rounded from 20-bit fixed point (half away from zero: neither reference is built with
TFLITE_SINGLE_ROUNDING). TFLite copies the interpolated value without requantizing, whatever
the output's quantization, and so does the engine. (RESIZE_NEAREST_NEIGHBOR: shape.py.)"""
from __future__ import annotations

import numpy as np

from ..lower import lowering
from .shape import fold, resize_geometry, resize_layer


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def bilinear_map(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """(lower neighbour, upper neighbour, fraction in 1/1024) for every output index, as an [out_size, 3] array."""
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    rows = []
    for i in range(out_size):
        v = i * scale + scale // 2 - (1 << 9) if half_pixel_centers else i * scale
        lo = max(_c_div(v, 1 << 10), 0)
        hi = min(_c_div(v + (1 << 10) - 1, 1 << 10), in_size - 1)
        rows.append((lo, hi, v - (lo << 10)))
    return np.array(rows, dtype=np.int64).reshape(out_size, 3)


def bilinear(x: np.ndarray, y_map: np.ndarray, x_map: np.ndarray) -> np.ndarray:
    """The kernel's arithmetic in NumPy over an NHWC array (for folding constants)."""
    x = np.asarray(x, dtype=np.int64)
    wy = y_map[:, 2][None, :, None, None]
    wx = x_map[:, 2][None, None, :, None]
    r0, r1 = x[:, y_map[:, 0]], x[:, y_map[:, 1]]
    s = ((r0[:, :, x_map[:, 0]] * ((1 << 10) - wx) + r0[:, :, x_map[:, 1]] * wx) * ((1 << 10) - wy) +
         (r1[:, :, x_map[:, 0]] * ((1 << 10) - wx) + r1[:, :, x_map[:, 1]] * wx) * wy)
    return np.trunc((s + np.where(s > 0, 1 << 19, -(1 << 19))) / (1 << 20)).astype(np.int64)


@lowering("RESIZE_BILINEAR")
def lower_resize_bilinear(ctx, op):
    in_shape, size, align, half = resize_geometry(ctx, op)
    in_t, out_t = op.inputs[0], op.outputs[0]
    if align and half:
        raise ctx.error(op, "align_corners and half_pixel_centers are both set (TFLite allows one)")
    y_map = bilinear_map(in_shape[1], size[0], align, half)
    x_map = bilinear_map(in_shape[2], size[1], align, half)
    # Neighbours inside the input and fractions in (-1024, 1024] keep the kernel's int32 sums exact.
    for m, n in ((y_map, in_shape[1]), (x_map, in_shape[2])):
        if m[:, :2].max() >= n or m[:, 2].min() <= -(1 << 10) or m[:, 2].max() > (1 << 10):
            raise ctx.error(op, f"resizing {n} to {len(m)} samples outside the input", unsupported=True)
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, bilinear(value, y_map, x_map))
        return
    resize_layer(ctx, op, "te_resize_bilinear_s8", "te_resize_params", y_map, x_map,
                 macs=4 * size[0] * size[1] * in_shape[3])
