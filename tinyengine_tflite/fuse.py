"""Graph rewrites before lowering. A PAD (or PADV2 with the zero point as value) that feeds only a VALID
convolution or depthwise convolution becomes that convolution's own padding, as in TinyEngine: the padded copy
of the tensor is never materialized, so it costs neither SRAM nor time. Padding with the input zero point is
exactly what the convolution kernels do at their borders, so the result is unchanged to the bit."""
from __future__ import annotations

import numpy as np

from .ir import Graph

FUSABLE_CONSUMERS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _pad_amounts(graph: Graph, pad_op) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) when the PAD only pads height and width with the zero point, else None."""
    src, dst = graph.tensors[pad_op.inputs[0]], graph.tensors[pad_op.outputs[0]]
    paddings = graph.tensors[pad_op.inputs[1]].data if pad_op.inputs[1] >= 0 else None
    if paddings is None or src.dtype != "int8" or dst.dtype != "int8" or len(src.shape) != 4:
        return None
    paddings = np.asarray(paddings).reshape(-1, 2)
    if paddings.shape != (4, 2) or (paddings < 0).any() or paddings[0].any() or paddings[3].any():
        return None
    if src.scale is None or dst.scale is None or src.per_channel or dst.per_channel or \
            src.qparams() != dst.qparams():
        return None
    if pad_op.name == "PADV2" and len(pad_op.inputs) > 2 and pad_op.inputs[2] >= 0:
        value = graph.tensors[pad_op.inputs[2]].data
        if value is None or np.asarray(value).size != 1 or int(np.asarray(value).reshape(-1)[0]) != dst.qparams()[1]:
            return None
    (top, bottom), (left, right) = paddings[1].tolist(), paddings[2].tolist()
    return int(top), int(bottom), int(left), int(right)


def fuse_pads(graph: Graph) -> Graph:
    """The graph with every fusable PAD folded into its consumer's `explicit_padding` option."""
    users: dict[int, list] = {}
    for op in graph.operators:
        for t in op.inputs:
            users.setdefault(t, []).append(op)
    fused = set()
    for op in graph.operators:
        if op.name not in ("PAD", "PADV2") or len(op.inputs) < 2 or len(op.outputs) != 1:
            continue
        out = op.outputs[0]
        consumers = users.get(out, [])
        if out in graph.outputs or len(consumers) != 1:
            continue
        conv = consumers[0]
        if conv.name not in FUSABLE_CONSUMERS or conv.inputs[0] != out or conv.inputs.count(out) != 1 or \
                conv.options.get("padding") != 1 or "explicit_padding" in conv.options:  # 1: VALID
            continue
        amounts = _pad_amounts(graph, op)
        if amounts is None:
            continue
        conv.inputs = [op.inputs[0]] + conv.inputs[1:]
        conv.options = {**conv.options, "explicit_padding": amounts}
        fused.add(op.index)
    if not fused:
        return graph
    return Graph(graph.name, graph.tensors, [op for op in graph.operators if op.index not in fused],
                 graph.inputs, graph.outputs)
