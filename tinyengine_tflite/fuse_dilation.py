"""Graph rewrite before lowering: TFLite's old dilated-convolution pattern SPACE_TO_BATCH_ND -> CONV_2D or
DEPTHWISE_CONV_2D (stride 1, VALID, no dilation) -> BATCH_TO_SPACE_ND becomes one convolution with dilation
= the block shape and explicit padding = SPACE_TO_BATCH_ND's paddings less BATCH_TO_SPACE_ND's crops. Row
Y * b + dy of the batched convolution's output, before the crop, sums padded rows Y * b + dy + k * b: exactly
a dilated convolution over the padded input, and the crop shifts where it starts. SPACE_TO_BATCH_ND pads with
its output zero point, which is the convolution kernels' padding when the three tensors share a quantization
(required here), so the result is unchanged to the bit: equal to LiteRT's reference kernels running the three
operators. TFLite Micro's int8 SPACE_TO_BATCH_ND pads with an unset value (0 or -16 from one run to the next
on the same model and input), which nothing can reproduce, so for reference="tflm" nothing is fused and the
padded SPACE_TO_BATCH_ND is refused. Anything else is left to the operators' own lowerings (ops/space.py)."""
from __future__ import annotations

import numpy as np

from .ir import Graph

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _const(graph: Graph, t: int, shape) -> np.ndarray | None:
    data = graph.tensors[t].data if t >= 0 else None
    if data is None or np.asarray(data).size != int(np.prod(shape)):
        return None
    return np.asarray(data).astype(np.int64).reshape(shape)


def _same_quant(graph: Graph, *ts: int) -> bool:
    qs = []
    for t in ts:
        tt = graph.tensors[t]
        if tt.dtype != "int8" or tt.scale is None or tt.per_channel:
            return False
        qs.append(tt.qparams())
    return all(q == qs[0] for q in qs)


def _fusion(graph: Graph, s2b, users) -> tuple | None:
    """(conv, b2s, options of the dilated convolution) when s2b starts the pattern, else None."""
    mid = s2b.outputs[0]
    convs = users.get(mid, [])
    if len(s2b.inputs) != 3 or mid in graph.outputs or len(convs) != 1:
        return None
    conv = convs[0]
    o = conv.options
    if conv.name not in CONVS or conv.inputs[0] != mid or conv.inputs.count(mid) != 1 or o.get("padding") != 1 or \
            "explicit_padding" in o or (o.get("stride_h", 1), o.get("stride_w", 1)) != (1, 1) or \
            (o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)) != (1, 1):
        return None
    out = conv.outputs[0]
    b2ss = users.get(out, [])
    if out in graph.outputs or len(b2ss) != 1 or b2ss[0].name != "BATCH_TO_SPACE_ND" or len(b2ss[0].inputs) != 3:
        return None
    b2s = b2ss[0]
    block, block2 = _const(graph, s2b.inputs[1], (2,)), _const(graph, b2s.inputs[1], (2,))
    pads, crops = _const(graph, s2b.inputs[2], (2, 2)), _const(graph, b2s.inputs[2], (2, 2))
    src = graph.tensors[s2b.inputs[0]]
    if block is None or block2 is None or pads is None or crops is None or not np.array_equal(block, block2) or \
            len(src.shape) != 4 or src.shape[0] != 1 or (block < 1).any() or (pads < 0).any() or (crops < 0).any():
        return None
    explicit = (pads - crops).reshape(-1)    # top, bottom, left, right
    if (explicit < 0).any() or not _same_quant(graph, s2b.inputs[0], mid) or \
            not _same_quant(graph, out, b2s.outputs[0]):
        return None
    options = {**o, "dilation_h_factor": int(block[0]), "dilation_w_factor": int(block[1]),
               "explicit_padding": tuple(int(v) for v in explicit)}
    return conv, b2s, options


def fuse_dilated_convs(graph: Graph, reference: str = "litert") -> Graph:
    """The graph with every SPACE_TO_BATCH_ND -> convolution -> BATCH_TO_SPACE_ND made one dilated convolution
    (for reference "litert"; unchanged for "tflm")."""
    if reference != "litert":
        return graph
    users: dict[int, list] = {}
    for op in graph.operators:
        for t in op.inputs:
            users.setdefault(t, []).append(op)
    removed = set()
    for op in graph.operators:
        if op.name != "SPACE_TO_BATCH_ND" or len(op.outputs) != 1:
            continue
        found = _fusion(graph, op, users)
        if found is None:
            continue
        conv, b2s, options = found
        conv.inputs = [op.inputs[0]] + conv.inputs[1:]
        conv.outputs = [b2s.outputs[0]]
        conv.options = options
        removed |= {op.index, b2s.index}
    if not removed:
        return graph
    return Graph(graph.name, graph.tensors, [op for op in graph.operators if op.index not in removed],
                 graph.inputs, graph.outputs)
