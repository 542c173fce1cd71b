"""The TensorFlow Lite for Microcontrollers baseline: smallest working arena, TFLM's own allocation report,
the like-for-like int8-I/O rewrite of float-I/O models, and TFLM-style live bytes per operator.

Everything runs in-process on the tflite-micro Python package (reference kernels). TFLM prints its errors and
allocation reports from C to stdout/stderr; they are captured at the file-descriptor level."""
from __future__ import annotations

import contextlib
import faulthandler
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .ir import DTYPE_BYTES
from .planner import Allocation, Plan, live_bytes, plan
from .schedule import lifetimes
from .schema import BUILTIN_NAMES, NUMPY_DTYPES, TENSOR_TYPE_NAMES, fb

TFLM_BUFFER_ALIGNMENT = 16      # TFLM's MicroArenaBufferAlignment(): every planned buffer starts 16-aligned
_MAX_ARENA = 256 << 20


class TflmError(RuntimeError):
    """TFLite Micro cannot run a model (at any arena size), with its own messages attached."""


@contextlib.contextmanager
def captured_fds(fds=(1, 2)):
    """Send what C code writes to fds 1/2 into a temporary file; yields a list that receives the text."""
    out: list[str] = []
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except (AttributeError, ValueError):
            pass
    saved = [os.dup(fd) for fd in fds]
    with tempfile.TemporaryFile() as f:
        try:
            for fd in fds:
                os.dup2(f.fileno(), fd)
            yield out
        finally:
            for s in (sys.stdout, sys.stderr):
                try:
                    s.flush()
                except (AttributeError, ValueError):
                    pass
            for fd, keep in zip(fds, saved):
                os.dup2(keep, fd)
                os.close(keep)
            f.seek(0)
            out.append(f.read().decode("utf-8", "replace"))


def tflm_interpreter(model: bytes, arena_size: int):
    """A TFLM interpreter with arena_size bytes of arena (raises RuntimeError when that is too small)."""
    from tflite_micro.python.tflite_micro import runtime
    return runtime.Interpreter.from_bytes(bytes(model), arena_size=int(arena_size))


def arena_works(model: bytes, arena_size: int) -> bool:
    """Whether TFLM allocates every tensor of `model` in arena_size bytes (its messages are swallowed).
    TFLM can crash instead of failing on a too-small arena (seen with SVDF and MIRROR_PAD models), so every probe
    runs in a forked child, whose crash counts as not working."""
    if hasattr(os, "fork"):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                faulthandler.disable()      # a crash here is an answer, not a report
                code = 0 if _arena_works_here(model, arena_size) else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return _arena_works_here(model, arena_size)


def _arena_works_here(model: bytes, arena_size: int) -> bool:
    with captured_fds():
        try:
            it = tflm_interpreter(model, arena_size)
        except RuntimeError:
            return False
    del it
    return True


@dataclass
class ArenaSearch:
    arena_bytes: int            # the smallest arena_size TFLM accepts (it also invokes there)
    probes: int                 # interpreters built by the search
    granularity: int


def smallest_arena(model: bytes, granularity: int = 1, name: str = "model") -> ArenaSearch:
    """Bisect TFLM's arena_size down to the smallest size that allocates, to `granularity` bytes; then invoke
    once at that size with a zero input to be sure. Raises TflmError when no size up to 256 MiB works."""
    model = bytes(model)
    probes = 0
    hi = max(4096, len(model) * 2)
    while True:
        probes += 1
        if arena_works(model, hi):
            break
        if hi >= _MAX_ARENA:
            with captured_fds() as log:
                try:
                    tflm_interpreter(model, _MAX_ARENA)
                except RuntimeError as e:
                    err = str(e)
            raise TflmError(f"model {name!r}: TFLite Micro cannot allocate it even with a {_MAX_ARENA:,} B arena: "
                            f"{err}; TFLM says: {_last_lines(log)}")
        hi = min(hi * 4, _MAX_ARENA)
    lo = 0                      # lo fails (or is 0), hi works
    while hi - lo > granularity:
        mid = (lo + hi) // 2
        probes += 1
        if arena_works(model, mid):
            hi = mid
        else:
            lo = mid
    run_tflm(model, zero_inputs(model), arena_size=hi)
    return ArenaSearch(hi, probes, granularity)


def _last_lines(log: list[str], n: int = 3) -> str:
    lines = [ln for ln in "".join(log).splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "(nothing)"


def io_details(model: bytes) -> tuple[list[dict], list[dict]]:
    """(inputs, outputs): shape, numpy dtype, (scale, zero_point) of each model input / output."""
    m = fb.ModelT.InitFromPackedBuf(bytes(model), 0)
    sg = m.subgraphs[0]

    def det(i):
        t = sg.tensors[i]
        q = t.quantization
        scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else 0.0
        zp = int(q.zeroPoint[0]) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else 0
        return {"index": int(i), "shape": tuple(int(d) for d in t.shape),
                "dtype": np.dtype(NUMPY_DTYPES[TENSOR_TYPE_NAMES[t.type]]).type,
                "quantization": (scale, zp)}
    return [det(i) for i in sg.inputs], [det(i) for i in sg.outputs]


def zero_inputs(model: bytes) -> list[np.ndarray]:
    return [np.zeros(d["shape"], d["dtype"]) for d in io_details(model)[0]]


def run_tflm(model: bytes, inputs, arena_size: int | None = None, interpreter=None) -> list[np.ndarray]:
    """Outputs of one TFLM invoke (a fresh interpreter unless one is given)."""
    it = interpreter if interpreter is not None else tflm_interpreter(model, arena_size or len(model) * 10)
    for k, x in enumerate(inputs):
        it.set_input(x, k)
    it.invoke()
    return [it.get_output(k) for k in range(len(io_details(model)[1]))]


@dataclass
class TflmAllocations:
    total: int
    head: int                   # non-persistent (planned activations and scratch)
    tail: int                   # persistent (TFLM's runtime structs, quantization data, kernel op data)
    lines: list[str] = field(default_factory=list)


_ALLOC_RE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def tflm_allocations(model: bytes, arena_size: int) -> TflmAllocations | None:
    """TFLM's own report (RecordingMicroAllocator.PrintAllocations) after one invoke, or None when nothing
    could be captured."""
    it = tflm_interpreter(model, arena_size)
    run_tflm(model, zero_inputs(model), interpreter=it)
    with captured_fds() as log:
        it.print_allocations()
    text = "".join(log)
    found = {k: int(v) for k, v in _ALLOC_RE.findall(text)}
    if not {"total", "head", "tail"} <= set(found):
        return None
    return TflmAllocations(found["total"], found["head"], found["tail"],
                           [ln.replace("[RecordingMicroAllocator] ", "") for ln in text.splitlines()
                            if "RecordingMicroAllocator" in ln])


# --- the like-for-like rewrite: float I/O -> int8 I/O -------------------------------------------------------

def _op_name(m, op) -> str:
    oc = m.operatorCodes[op.opcodeIndex]
    return BUILTIN_NAMES.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?")


def has_float_io(model: bytes) -> bool:
    ins, outs = io_details(model)
    return any(d["dtype"] == np.float32 for d in ins + outs)


def strip_float_io(model: bytes, name: str = "model") -> bytes:
    """The same graph with int8 inputs/outputs: each float input's QUANTIZE and each float output's
    DEQUANTIZE is removed, the int8 tensors they connected become the subgraph's inputs/outputs, and the
    float tensors are dropped (tensor indices renumbered). A model without float I/O comes back unchanged."""
    import flatbuffers

    if len(model) < 8 or bytes(model[4:8]) != b"TFL3":
        raise ValueError(f"model {name!r}: not a TFLite flatbuffer (no 'TFL3' identifier)")
    m = fb.ModelT.InitFromPackedBuf(bytes(model), 0)
    if len(m.subgraphs or []) != 1:
        raise ValueError(f"model {name!r}: the float-I/O rewrite handles one subgraph, not {len(m.subgraphs or [])}")
    sg = m.subgraphs[0]
    F32, I8 = fb.TensorType.FLOAT32, fb.TensorType.INT8
    ops = list(sg.operators or [])
    uses: dict[int, int] = {}
    for op in ops:
        for t in op.inputs if op.inputs is not None else []:
            uses[int(t)] = uses.get(int(t), 0) + 1
    new_inputs, new_outputs, drop = [], [], set()
    for t in (int(x) for x in sg.inputs):
        if sg.tensors[t].type != F32:
            new_inputs.append(t)
            continue
        q = [k for k, op in enumerate(ops) if int(t) in [int(x) for x in op.inputs] and _op_name(m, op) == "QUANTIZE"]
        if uses.get(t, 0) != 1 or len(q) != 1 or sg.tensors[int(ops[q[0]].outputs[0])].type != I8:
            raise ValueError(f"model {name!r}: float input tensor {t} is not consumed by exactly one "
                             "QUANTIZE to int8; cannot rewrite it to int8 input")
        new_inputs.append(int(ops[q[0]].outputs[0]))
        drop.add(q[0])
    for t in (int(x) for x in sg.outputs):
        if sg.tensors[t].type != F32:
            new_outputs.append(t)
            continue
        d = [k for k, op in enumerate(ops) if t in [int(x) for x in op.outputs]]
        if len(d) != 1 or _op_name(m, ops[d[0]]) != "DEQUANTIZE" or \
                sg.tensors[int(ops[d[0]].inputs[0])].type != I8:
            raise ValueError(f"model {name!r}: float output tensor {t} is not produced by a DEQUANTIZE from "
                             "int8; cannot rewrite it to int8 output")
        new_outputs.append(int(ops[d[0]].inputs[0]))
        drop.add(d[0])
    if not drop:
        return bytes(model)
    kept_ops = [op for k, op in enumerate(ops) if k not in drop]
    used = set(new_inputs) | set(new_outputs)
    for op in kept_ops:
        for arr in (op.inputs, op.outputs, op.intermediates):
            if arr is not None:
                used |= {int(x) for x in arr if int(x) >= 0}
    keep = sorted(used)
    remap = {old: new for new, old in enumerate(keep)}

    def re_idx(arr):
        return None if arr is None else [remap[int(x)] if int(x) >= 0 else -1 for x in arr]

    for op in kept_ops:
        op.inputs, op.outputs, op.intermediates = re_idx(op.inputs), re_idx(op.outputs), re_idx(op.intermediates)
    sg.tensors = [sg.tensors[i] for i in keep]
    sg.operators = kept_ops
    sg.inputs, sg.outputs = re_idx(new_inputs), re_idx(new_outputs)
    for sig in m.signatureDefs or []:
        for maps, new in ((sig.inputs, sg.inputs), (sig.outputs, sg.outputs)):
            for k, tm in enumerate(maps or []):
                tm.tensorIndex = new[k] if k < len(new) else tm.tensorIndex
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# --- TFLM-style memory: what its planner keeps live at each operator (no in-place) ---------------------------

@dataclass
class TflmPlan:
    ops: list[str]              # operator names, in execution order
    live: list[int]             # bytes live at each operator (16-aligned tensors)
    allocations: list[Allocation]
    plan: Plan                  # offsets by TFLM's greedy-by-size placement


def tflm_plan(model: bytes, alignment: int = TFLM_BUFFER_ALIGNMENT) -> TflmPlan:
    """TFLM's activation plan, computed by the planner's own lifetime and placement code (schedule.lifetimes,
    planner) with TFLM's rules: every non-constant tensor lives from the operator that writes it (model inputs:
    from the start) to the last one that reads it (model outputs: to the end), each 16-aligned, no in-place
    reuse, placed greedy-by-size. Kernel scratch buffers are not included (the reference kernels request
    almost none), so this is the planned-activation part of TFLM's arena."""
    m = fb.ModelT.InitFromPackedBuf(bytes(model), 0)
    sg = m.subgraphs[0]
    ops = list(sg.operators or [])

    def is_const(t):
        b = m.buffers[sg.tensors[t].buffer] if sg.tensors[t].buffer < len(m.buffers) else None
        return b is not None and ((b.data is not None and len(b.data)) or (b.offset or 0) > 1)

    steps = [([t for t in (int(x) for x in op.inputs) if t >= 0 and not is_const(t) and not sg.tensors[t].isVariable],
              [int(x) for x in op.outputs]) for op in ops]
    first, last = lifetimes([int(t) for t in sg.inputs], steps, [int(t) for t in sg.outputs], len(ops) - 1)
    allocs = []
    for t in first:
        tt = sg.tensors[t]
        size = int(np.prod(tt.shape, dtype=np.int64)) * DTYPE_BYTES.get(NUMPY_DTYPES.get(TENSOR_TYPE_NAMES[tt.type]), 4)
        allocs.append(Allocation(f"tensor {t}", size, first[t], last[t]))
    live = live_bytes(allocs, len(ops), alignment)
    return TflmPlan([_op_name(m, op) for op in ops], live, allocs,
                    plan(allocs, ["greedy-by-size"], live, alignment))


def tflm_live_bytes(model: bytes, alignment: int = TFLM_BUFFER_ALIGNMENT) -> tuple[list[str], list[int]]:
    """(operator names, bytes live at each operator) of TFLM's plan (tflm_plan)."""
    p = tflm_plan(model, alignment)
    return p.ops, p.live
