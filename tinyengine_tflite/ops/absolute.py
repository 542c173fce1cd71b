"""ABS (int8): a 256-entry table (te_lut_s8, lut.py's layer) of the references' quantized Abs: |input - input
zero point|, requantized by input scale / output scale (MultiplyByQuantizedMultiplier; skipped when the scales
are equal), plus the output zero point, saturated. LiteRT divides the scales in float32, TFLM in double."""
from __future__ import annotations

import numpy as np

from ..lower import lowering
from ..quant import quantize_multiplier
from .activation import _unary_io
from .lut import _lut_layer, _table, mbqm


@lowering("ABS")
def lower_abs(ctx, op):
    in_t, out_t, in_scale, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    if np.float32(in_scale) == np.float32(out_scale):
        table = _table(lambda v: abs(v - in_zp) + out_zp)
    else:
        ratio = float(np.float32(in_scale) / np.float32(out_scale)) if ctx.reference == "litert" \
            else float(np.float32(in_scale)) / float(np.float32(out_scale))
        mult, shift = quantize_multiplier(ratio)
        table = _table(lambda v: mbqm(abs(v - in_zp), mult, shift) + out_zp)
    _lut_layer(ctx, op, in_t, out_t, table)
