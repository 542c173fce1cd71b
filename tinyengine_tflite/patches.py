"""Patch-based inference (MCUNetV2): the first layers of a network (the patch stage, layers 0 .. split) run
patch by patch, so only one patch's activations are live at a time; the rest runs layer by layer.

The stage output is cut into a grid of tiles (rows x cols, uneven where the size does not divide). Walking the
stage backwards, each tile maps through every layer's window (kernel, stride, dilation, padding) to the region
each tensor must be computed on for that patch (the hull of what its consumers need, clipped to the image).
Each layer then runs its usual kernel with patch-specific parameters: in_h/in_w the needed input region clipped
to the image, pad_top/pad_left how far that region reaches past the image (the kernels read rows and columns past
in_h/in_w as padding too, so zero-point padding is exactly the layer-wise one), out_h/out_w the output region.
A consumer that needs only a sub-window of a tensor gets it cropped: in place when it is the tensor's last reader
(te_copy_rows moves each row forward), else copied into its own buffer. The first step copies the patch's input
window out of the full input, the last writes the tile into the full stage output.

Rows and columns are independent, so the analysis runs per dimension; "auto" enumerates split points and grids
with per-dimension sizes (a patch buffer's size is the product of its two longest extents), estimates each
candidate's peak (the most bytes live at one step) and plans the few best exactly, within the MAC cap. Only what a Layer carries is used (operator, kernel parameters, shapes, scratch), so the
NAS profiler's abstract graphs get the same analysis as converted models."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .errors import ConversionError
from .layers import Buffer, InPlace, Layer, LoweredModel
from .ops.conv import depthwise_buffer_size, depthwise_inplace_buffer_size
from .ops.elementwise import broadcast_dims
from .planner import align

WINDOWED = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")
MAX_TILES_PER_DIM = 8          # "auto" tries up to this many rows and columns
EXACT_CANDIDATES = 6           # "auto" plans at most this many candidates exactly
COPY = ("te_copy_rows", "te_copy_rows_params")


@dataclass(frozen=True)
class PatchPlan:
    """A patch stage: layers 0 .. split run on a rows x cols grid of tiles of layer split's output."""
    split: int
    rows: int
    cols: int

    @classmethod
    def parse(cls, text: str) -> "PatchPlan":
        """'ROWSxCOLS@SPLIT', e.g. '3x2@12'."""
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*@\s*(\d+)\s*", str(text))
        if not m:
            raise ValueError(f"patch plan {text!r} is not ROWSxCOLS@LAYER (e.g. 3x2@12)")
        return cls(int(m[3]), int(m[1]), int(m[2]))

    def __str__(self) -> str:
        return f"{self.rows}x{self.cols}@{self.split}"


@dataclass
class PatchStage:
    """What patch-based execution changed: the model actually run (its layers first .. last run once per
    patch, each with its own parameters for each patch) and the figures of the report."""
    plan: PatchPlan
    model: LoweredModel                      # the executed model: copies, stage layers on patch buffers, the rest
    first: int                               # layers first .. last of `model` run once per patch
    last: int
    patch_params: dict[int, list[dict]]      # layer of `model` -> its parameters for each patch
    layerwise: object                        # the layer-wise Schedule of the model (schedule.Schedule)
    layerwise_macs: int
    macs: int                                # executed MACs, the recomputed halos included

    @property
    def n_patches(self) -> int:
        return self.plan.rows * self.plan.cols

    @property
    def mac_overhead(self) -> float:
        return self.macs / self.layerwise_macs - 1.0 if self.layerwise_macs else 0.0


def _error(model: LoweredModel, message: str) -> ConversionError:
    return ConversionError(message, model=model.name)


# --- the stage ------------------------------------------------------------------------------------------------

def _hw(buf: Buffer):
    """(h, w, c) of a batch-1 NHWC buffer, else None."""
    s = buf.shape
    return (s[1], s[2], s[3]) if len(s) == 4 and s[0] == 1 else None


# Kernel parameter fields, by either spelling (flat, or the nested C designators of te_common.h's structs).
_FIELDS = {"in_h": "input.h", "in_w": "input.w", "out_h": "output.h", "out_w": "output.w", "k_h": "kernel.h",
           "k_w": "kernel.w", "stride_h": "stride.h", "stride_w": "stride.w", "dil_h": "dilation.h",
           "dil_w": "dilation.w", "pad_top": "padding.h", "pad_left": "padding.w"}


def _key(params: dict, name: str) -> str | None:
    return name if name in params else _FIELDS[name] if _FIELDS[name] in params else None


def _get(params: dict, name: str, default: int | None = None) -> int:
    k = _key(params, name)
    return params[k] if k is not None else default


def _set(params: dict, **values) -> dict:
    for name, v in values.items():
        params[_key(params, name)] = v
    return params


def _stage_layer_ok(model: LoweredModel, layer: Layer) -> bool:
    if len(layer.outputs) != 1 or layer.states or layer.array_inputs:
        return False
    out = model.buffers[layer.outputs[0]]
    ins = [model.buffers[b] for b in layer.inputs]
    if _hw(out) is None or any(_hw(b) is None for b in ins):
        return False
    if layer.op in WINDOWED:
        return len(ins) == 1 and all(_key(layer.params, f) for f in
                                     ("in_h", "in_w", "out_h", "out_w", "pad_top", "pad_left", "k_h", "k_w"))
    if layer.op == "ADD":
        return layer.param_struct == "te_add_params" and len(ins) == 2 and all(b.shape == out.shape for b in ins)
    if layer.op == "QUANTIZE":
        return layer.kernel == "te_requantize_s8" and ins[0].shape == out.shape
    return False


def _window(layer: Layer, d: int) -> tuple[int, int, int, int]:
    """(kernel, stride, dilation, padding before) of a layer along rows (d 0) or columns (d 1)."""
    if layer.op not in WINDOWED:
        return 1, 1, 1, 0
    p, hw = layer.params, "hw"[d]
    return (_get(p, f"k_{hw}"), _get(p, f"stride_{hw}"), _get(p, f"dil_{hw}", 1),
            _get(p, "pad_top" if d == 0 else "pad_left"))


@dataclass
class _Stage:
    """A valid split's structure: the stage layers, their consumers and the per-dimension analyses."""
    split: int
    input: int                               # the full buffer the stage reads (model input)
    output: int                              # the stage output buffer (layer split's output)
    readers: dict[int, list[tuple[int, int]]]   # buffer -> (layer, input position) in the stage
    born: dict[int, int]                         # stage buffer -> the layer that writes it
    windows: list[tuple[tuple[int, int, int, int], ...]]   # per stage layer: _window along rows, columns
    steps: list | None = None                    # _steps, made on first use
    dims: dict = field(default_factory=dict)     # (d, n) -> _DimAnalysis


def valid_splits(model: LoweredModel) -> list[_Stage]:
    """Every split whose stage (layers 0 .. split) patch execution supports: supported layers over NHWC
    tensors, one external input, and nothing but the stage output read after the stage."""
    stages = []
    produced: dict[int, int] = {}
    readers: dict[int, list[tuple[int, int]]] = {}
    external: set[int] = set()
    last_read = {}
    for i, layer in enumerate(model.layers):
        for b in layer.inputs:
            last_read[b] = i
    outputs = {s.buffer for s in model.outputs}
    windows = []          # shared by the stages (each reads its first split + 1)
    for i, layer in enumerate(model.layers):
        if not _stage_layer_ok(model, layer):
            break
        windows.append((_window(layer, 0), _window(layer, 1)))
        for j, b in enumerate(layer.inputs):
            if b not in produced:
                external.add(b)
            readers.setdefault(b, []).append((i, j))
        out = layer.outputs[0]
        if out in produced or out in external:
            break
        produced[out] = i
        if len(external) != 1:
            break
        # every other stage tensor must die inside the stage (and not be a model output)
        if any(last_read.get(b, -1) > i or b in outputs for b in produced if b != out):
            continue
        if last_read.get(out, -1) <= i and out not in outputs:
            continue
        if any(b not in readers for b in produced if b != out):
            continue
        stages.append(_Stage(i, next(iter(external)), out, {b: list(r) for b, r in readers.items()}, dict(produced),
                             windows))
    return stages


def _tiles(size: int, n: int) -> list[tuple[int, int]]:
    return [(size * k // n, size * (k + 1) // n) for k in range(n)]


@dataclass
class _DimAnalysis:
    """One dimension of a grid: per tile, each buffer's computed region and each (layer, input)'s need."""
    regions: list[dict[int, tuple[int, int]]]                 # per tile: buffer -> [lo, hi)
    needs: list[dict[tuple[int, int], tuple[int, int, int]]]  # per tile: (layer, input) -> (lo, hi, pad before)
    longest: dict[int, int]                                   # buffer -> longest region over the tiles
    out_sum: dict[int, int]                                   # layer -> its output extents summed over tiles


def _analyze(model: LoweredModel, st: _Stage, d: int, n: int) -> _DimAnalysis:
    key = (d, n)
    if key in st.dims:
        return st.dims[key]
    size = model.buffers[st.output].shape[1 + d]
    regions, needs = [], []
    longest: dict[int, int] = {}
    out_sum = {i: 0 for i in range(st.split + 1)}
    walk = [(i, model.layers[i].outputs[0], st.windows[i][d],
             [(j, b, model.buffers[b].shape[1 + d]) for j, b in enumerate(model.layers[i].inputs)])
            for i in range(st.split, -1, -1)]
    for lo, hi in _tiles(size, n):
        reg = {st.output: (lo, hi)}
        need = {}
        for i, out, (k, s, dil, pad), inputs in walk:
            o0, o1 = reg[out]
            out_sum[i] += o1 - o0
            for j, b, extent in inputs:
                r0 = o0 * s - pad
                r1 = r0 + (o1 - 1 - o0) * s + (k - 1) * dil + 1
                c0 = r0 if r0 > 0 else 0          # (conditionals: min/max calls cost the NAS profiler)
                c1 = r1 if r1 < extent else extent
                need[(i, j)] = (c0, c1, c0 - r0)
                old = reg.get(b)
                if old is not None:
                    c0 = c0 if c0 < old[0] else old[0]
                    c1 = c1 if c1 > old[1] else old[1]
                reg[b] = (c0, c1)
        for b, (r0, r1) in reg.items():
            if r1 - r0 > longest.get(b, 0):
                longest[b] = r1 - r0
        regions.append(reg)
        needs.append(need)
    st.dims[key] = a = _DimAnalysis(regions, needs, longest, out_sum)
    return a


# --- the executed model ---------------------------------------------------------------------------------------

def _elem(buf: Buffer) -> int:
    """Bytes per value."""
    return buf.nbytes // max(1, buf.shape[1] * buf.shape[2] * buf.shape[3])


def _nbytes(buf: Buffer, h: int, w: int) -> int:
    return h * w * buf.shape[3] * _elem(buf)


def _pixels(buf: Buffer) -> int:
    return buf.shape[1] * buf.shape[2] if len(buf.shape) == 4 else 0


def _layer_params(layer: Layer, model: LoweredModel, in_hw, pads, out_hw) -> dict:
    """A stage layer's parameters for one patch: input region (h, w) and padding, output region (h, w)."""
    p = dict(layer.params)
    oh, ow = out_hw
    if layer.op in WINDOWED:
        _set(p, in_h=in_hw[0][0], in_w=in_hw[0][1], pad_top=pads[0][0], pad_left=pads[0][1], out_h=oh, out_w=ow)
    elif layer.op == "ADD":
        c = model.buffers[layer.outputs[0]].shape[3]
        dims, (sa, sb) = broadcast_dims((1, oh, ow, c), [(1, oh, ow, c)] * 2)
        p.update({f"shape.{name}{k}": v for name, values in (("n", dims), ("a_s", sa), ("b_s", sb))
                  for k, v in enumerate(values)})
    else:                                     # QUANTIZE (requantize)
        p["size"] = oh * ow * model.buffers[layer.outputs[0]].shape[3]
    return p


def _scratch(layer: Layer, params: dict, inplace: bool) -> int:
    """A stage layer's scratch for one patch's parameters (only the depthwise scratch depends on the region)."""
    if layer.op == "DEPTHWISE_CONV_2D":
        return depthwise_inplace_buffer_size(params) if inplace else depthwise_buffer_size(params)
    return layer.inplace.scratch_bytes if inplace else layer.scratch_bytes


def build(model: LoweredModel, st: _Stage, rows: int, cols: int):
    """The executed model of a split and grid: (model, first, last, per-patch parameters, executed MACs)."""
    ra, ca = _analyze(model, st, 0, rows), _analyze(model, st, 1, cols)
    tiles = [(r, c) for r in range(rows) for c in range(cols)]
    buffers = list(model.buffers)

    def new_buffer(like: int, h: int, w: int, what: str) -> int:
        src = model.buffers[like]
        buffers.append(Buffer(len(buffers), f"{src.name} ({what})", (1, h, w, src.shape[3]), _nbytes(src, h, w),
                              src.dtype))
        return len(buffers) - 1

    # one patch buffer per stage tensor (the input window included), sized for the largest patch
    patch = {b: new_buffer(b, ra.longest[b], ca.longest[b], "patch") for b in sorted(ra.longest)}
    layers: list[Layer] = []
    params: dict[int, list[dict]] = {}

    def region(b, t):
        r, c = tiles[t]
        return ra.regions[r][b], ca.regions[c][b]

    def copy_params(rows_, row_bytes, src_off, src_stride, dst_off, dst_stride):
        return dict(rows=rows_, row_bytes=row_bytes, src_offset=src_off, src_stride=src_stride,
                    dst_offset=dst_off, dst_stride=dst_stride)

    def add(layer: Layer, per_patch: list[dict]):
        params[len(layers)] = per_patch
        layers.append(layer)

    elem = {b: _elem(model.buffers[b]) for b in patch}

    def full_copies(b: int, into_full: bool) -> list[dict]:
        """Per patch: b's region out of the full tensor b (into_full False), or into it."""
        full = model.buffers[b]
        pixel = full.shape[3] * elem[b]
        pp = []
        for t in range(len(tiles)):
            (r0, r1), (c0, c1) = region(b, t)
            w, at = (c1 - c0) * pixel, (r0 * full.shape[2] + c0) * pixel
            pp.append(copy_params(r1 - r0, w, 0, w, at, full.shape[2] * pixel) if into_full else
                      copy_params(r1 - r0, w, at, full.shape[2] * pixel, 0, w))
        return pp

    pp = full_copies(st.input, False)
    add(Layer("PATCH_INPUT", -1, *COPY, pp[0], [st.input], [patch[st.input]]), pp)
    last_reader = {b: max(i for i, _ in rd) for b, rd in st.readers.items()}
    macs = 0
    for i in range(st.split + 1):
        layer = model.layers[i]
        ins = []
        for j, b in enumerate(layer.inputs):
            crop, exact = [], True
            for t in range(len(tiles)):
                r, c = tiles[t]
                (n0, n1, _), (m0, m1, _) = ra.needs[r][(i, j)], ca.needs[c][(i, j)]
                (R0, R1), (C0, C1) = region(b, t)
                w = model.buffers[b].shape[3] * elem[b]
                exact &= (n0, n1, m0, m1) == (R0, R1, C0, C1)
                crop.append(copy_params(n1 - n0, (m1 - m0) * w, ((n0 - R0) * (C1 - C0) + (m0 - C0)) * w,
                                        (C1 - C0) * w, 0, (m1 - m0) * w))
            if exact:
                ins.append(patch[b])
            elif last_reader[b] == i and layer.inputs.count(b) == 1:
                for q in crop:            # a patch whose region is the window needs no move
                    if q["src_offset"] == 0 and q["src_stride"] == q["dst_stride"]:
                        q["rows"] = 0
                add(Layer("PATCH_CROP", -1, *COPY, crop[0], [patch[b]], [patch[b]]), crop)
                ins.append(patch[b])
            else:
                hmax = max(ra.needs[r][(i, j)][1] - ra.needs[r][(i, j)][0] for r in range(rows))
                wmax = max(ca.needs[c][(i, j)][1] - ca.needs[c][(i, j)][0] for c in range(cols))
                tmp = new_buffer(b, hmax, wmax, f"window of layer {i}")
                add(Layer("PATCH_COPY", -1, *COPY, crop[0], [patch[b]], [tmp]), crop)
                ins.append(tmp)
        out = layer.outputs[0]
        per, scratch, in_scratch = [], 0, 0
        for t in range(len(tiles)):
            r, c = tiles[t]
            (o0, o1), (u0, u1) = region(out, t)
            need_r, need_c = ra.needs[r][(i, 0)], ca.needs[c][(i, 0)]
            q = _layer_params(layer, model, [(need_r[1] - need_r[0], need_c[1] - need_c[0])],
                              [(need_r[2], need_c[2])], (o1 - o0, u1 - u0))
            per.append(q)
            scratch = max(scratch, _scratch(layer, q, False))
            if layer.inplace is not None:
                in_scratch = max(in_scratch, _scratch(layer, q, True))
        executed = _executed_macs(model, i, ra, ca)
        macs += executed
        add(replace(layer, params=per[0], inputs=ins, outputs=[patch[out]], scratch_bytes=scratch, macs=executed,
                    inplace=InPlace(layer.inplace.kernel, in_scratch) if layer.inplace is not None else None), per)
    pp = full_copies(st.output, True)
    add(Layer("PATCH_OUTPUT", -1, *COPY, pp[0], [patch[st.output]], [st.output]), pp)
    last = len(layers) - 1
    layers += model.layers[st.split + 1:]
    macs += sum(ly.macs for ly in model.layers[st.split + 1:])
    executed = LoweredModel(model.name, buffers, layers, model.inputs, model.outputs)
    return executed, 0, last, params, macs


# --- choosing and scheduling ----------------------------------------------------------------------------------

def _executed_macs(model: LoweredModel, i: int, ra: _DimAnalysis, ca: _DimAnalysis) -> int:
    """MACs of stage layer i over every patch (its MACs are proportional to its output pixels)."""
    layer = model.layers[i]
    pixels = _pixels(model.buffers[layer.outputs[0]])
    return layer.macs // pixels * ra.out_sum[i] * ca.out_sum[i] if pixels else layer.macs


def _stage_macs(model: LoweredModel, st: _Stage, ra: _DimAnalysis, ca: _DimAnalysis) -> int:
    """Executed MACs of the stage layers over every patch."""
    return sum(_executed_macs(model, i, ra, ca) for i in range(st.split + 1))


@dataclass
class _Step:
    """What _estimate needs of one stage layer, the same for every grid."""
    out: int
    src: int
    others: list[int]          # the stage tensors live at this layer but its output
    may_inplace: bool          # its in-place variant applies when the output is not larger
    layer: Layer
    params: dict | None        # a depthwise layer's parameters, to size its scratch per grid


def _steps(model: LoweredModel, st: _Stage) -> list[_Step]:
    if st.steps is None:
        last = {b: max(i for i, _ in rd) for b, rd in st.readers.items()}
        last[st.output] = st.split
        st.steps = []
        for i in range(st.split + 1):
            layer = model.layers[i]
            src, out = layer.inputs[0], layer.outputs[0]
            others = [b for b, t in last.items() if b != out and i <= t and st.born.get(b, -1) <= i]
            st.steps.append(_Step(out, src, others, layer.inplace is not None and last.get(src) == i and
                                  src != st.input, layer,
                                  dict(layer.params) if layer.op == "DEPTHWISE_CONV_2D" else None))
    return st.steps


def _estimate(model: LoweredModel, st: _Stage, ra: _DimAnalysis, ca: _DimAnalysis) -> int:
    """Most bytes live at one stage step (no plan): the full input and output, every patch tensor live there
    (an in-place layer's output in its dying input's place) and the layer's scratch; sub-window copies are
    counted at their source's size."""
    size = {b: align(_nbytes(model.buffers[b], ra.longest[b], ca.longest[b])) for b in ra.longest}
    base = align(model.buffers[st.input].nbytes) + align(model.buffers[st.output].nbytes)
    peak = base + size[st.input]
    for step in _steps(model, st):
        live = sum(size[b] for b in step.others)
        inplace = step.may_inplace and size[step.out] <= size[step.src]
        if not inplace:
            live += size[step.out]
        if step.params is not None:
            _set(step.params, out_h=ra.longest[step.out], out_w=ca.longest[step.out])
            scratch = (depthwise_inplace_buffer_size if inplace else depthwise_buffer_size)(step.params)
        else:
            scratch = step.layer.inplace.scratch_bytes if inplace else step.layer.scratch_bytes
        peak = max(peak, base + live + align(scratch))
    return peak


def _stage(model: LoweredModel, stages: list[_Stage], plan: PatchPlan) -> _Stage:
    for st in stages:
        if st.split == plan.split:
            h, w = model.buffers[st.output].shape[1:3]
            if not (1 <= plan.rows <= h and 1 <= plan.cols <= w):
                raise _error(model, f"patch grid {plan.rows}x{plan.cols} does not fit layer {plan.split}'s "
                                    f"{h}x{w} output")
            return st
    ok = ", ".join(str(st.split) for st in stages) or "none"
    raise _error(model, f"layers 0 .. {plan.split} cannot run patch by patch (splits that can: {ok}); the patch "
                        "stage takes CONV_2D, DEPTHWISE_CONV_2D, pooling, ADD and int8 QUANTIZE, and only its last "
                        "layer's output may be read after it")


@dataclass
class Candidate:
    estimate: int                 # estimated peak: the most bytes live at one step, stage or after
    stage_estimate: int           # the same over the patch stage alone
    macs: int                     # executed MACs
    plan: PatchPlan
    stage: _Stage


def candidates(model: LoweredModel, layerwise, max_mac_overhead: float) -> list[Candidate]:
    """Every split and grid within the MAC cap whose estimate is below the layer-wise arena, best estimate
    (then fewest MACs) first."""
    base_macs = sum(ly.macs for ly in model.layers)
    cap = (1.0 + max_mac_overhead) * base_macs
    # bytes live at each layer before the faster kernels took their larger scratch where the plan had room
    live = [v - (align(model.layers[i].faster.scratch_bytes) - align(model.layers[i].scratch_bytes)
                 if i in layerwise.faster else 0) for i, v in enumerate(layerwise.live)]
    found = []
    best = layerwise.arena_bytes
    for st in valid_splits(model):
        after = max(live[st.split + 1:], default=0)
        floor = max(after, align(model.buffers[st.input].nbytes) + align(model.buffers[st.output].nbytes))
        if floor >= best:
            continue
        h, w = model.buffers[st.output].shape[1:3]
        stage_macs = sum(model.layers[i].macs for i in range(st.split + 1))

        def executed(rows, cols):
            return base_macs - stage_macs + _stage_macs(model, st, _analyze(model, st, 0, rows),
                                                        _analyze(model, st, 1, cols))
        # the recomputed MACs only grow with more tiles and a deeper stage: past the cap with two tiles, every
        # deeper split is too
        if min(executed(1, 2) if w > 1 else cap + 1, executed(2, 1) if h > 1 else cap + 1) > cap:
            break
        for rows in range(1, min(h, MAX_TILES_PER_DIM) + 1):
            ra = _analyze(model, st, 0, rows)
            for cols in range(1 if rows > 1 else 2, min(w, MAX_TILES_PER_DIM) + 1):
                ca = _analyze(model, st, 1, cols)
                macs = base_macs - stage_macs + _stage_macs(model, st, ra, ca)
                if macs > cap:
                    break              # more columns only recompute more
                stage_est = _estimate(model, st, ra, ca)
                est = max(after, stage_est)
                if est < layerwise.arena_bytes:
                    found.append(Candidate(est, stage_est, macs, PatchPlan(st.split, rows, cols), st))
                    best = min(best, est)
    found.sort(key=lambda c: (c.estimate, c.macs))
    return found


def patch_schedule(model: LoweredModel, layerwise, patches, max_mac_overhead: float, schedule_layers):
    """The schedule of patch-based execution (a PatchPlan, its text or "auto"); "auto" returns `layerwise` when
    no split and grid within the MAC cap has a smaller arena. schedule_layers(model, widen) plans a model."""
    if isinstance(max_mac_overhead, bool) or not isinstance(max_mac_overhead, (int, float)) or \
            not max_mac_overhead >= 0:
        raise ValueError(f"max_mac_overhead must be a number >= 0, got {max_mac_overhead!r}")
    if isinstance(patches, str) and patches == "auto":
        found = candidates(model, layerwise, max_mac_overhead)
        ties = [c for c in found if c.estimate == found[0].estimate]
        # The planner does not always reach the estimate: among the best estimate's candidates (fewest MACs
        # first), plan those that leave it more room than any before, until one reaches the estimate, and the
        # roomiest last.
        tried, room = [], None
        for c in ties:
            if room is None or c.stage_estimate < room:
                tried.append(c)
                room = c.stage_estimate
        tried = tried[:EXACT_CANDIDATES - 1]
        roomiest = min(ties, key=lambda c: c.stage_estimate) if ties else None
        tried += [roomiest] if roomiest is not None and roomiest not in tried else []
        best = layerwise
        for c in tried:
            sched = _patched(model, layerwise, c.stage, c.plan, schedule_layers)
            if sched.arena_bytes < best.arena_bytes:
                best = sched
            if best.arena_bytes <= c.estimate:
                break
        return best
    if isinstance(patches, str):
        patches = PatchPlan.parse(patches)
    if not isinstance(patches, PatchPlan):
        raise ValueError(f"patches must be None, 'auto', 'none', a PatchPlan or 'ROWSxCOLS@LAYER'; got {patches!r}")
    return _patched(model, layerwise, _stage(model, valid_splits(model), patches), patches, schedule_layers)


def _patched(model: LoweredModel, layerwise, st: _Stage, plan: PatchPlan, schedule_layers):
    executed, first, last, params, macs = build(model, st, plan.rows, plan.cols)
    sched = schedule_layers(executed, {st.input: (first, last), st.output: (first, last)})
    sched.patches = PatchStage(plan, executed, first, last, params, layerwise,
                               sum(ly.macs for ly in model.layers), macs)
    return sched
