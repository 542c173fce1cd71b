"""Mutation fuzzing of convert(): mutants of valid models, and a sandboxed runner that classifies each outcome.

Mutants are byte flips, truncations and schema-aware edits (through the object API, tinyengine_tflite.schema.fb)
of shapes, tensor and buffer indices, types, scales, zero points, quantized dimensions, options, operator codes,
the graph's inputs/outputs and constant data. Each mutant is converted (C written to a scratch folder) in a worker
process with a time limit, so a crash or a hang is an outcome rather than the end of the run. Outcomes:

- "converted": convert() succeeded;  "refused": it raised the project's ConversionError;
- "exception": any other exception (a bug);  "crash": the worker died;  "hang": past the time limit.

For a converted mutant, `Sandbox.run(check=True)` also runs the engine's Interpreter (the generated C) and LiteRT's
reference kernels on one input: "equal", "mismatch" (a bug), "litert refuses" (LiteRT rejects what we accept:
counted and listed, to be judged one by one) or "litert crashed" (LiteRT died after our outputs were computed).
`check="sanitize"` builds the generated C with the sanitizer-visible arena under -fsanitize=address,undefined and
runs it on random bytes: "sanitizer clean" or "sanitizer error" (a bug)."""
from __future__ import annotations

import copy
import multiprocessing
import os
import random
import signal
import struct
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BUG_OUTCOMES = ("exception", "crash", "hang", "mismatch", "engine error", "sanitizer error")

_INTS = (-2**31, -65536, -129, -2, -1, 0, 1, 2, 3, 7, 127, 128, 255, 1000, 65535, 65536, 2**31 - 1)
_FLOATS = (float("nan"), float("inf"), -float("inf"), 0.0, -0.0, -1.0, 1e-45, 1e-30, 1e-10, 1.0, 3.0, 1e6, 1e10,
           1e30, 3.4e38)


def _supported_codes() -> list[int]:
    from tinyengine_tflite.lower import supported_ops
    from tinyengine_tflite.schema import BUILTIN_NAMES
    return sorted(code for code, name in BUILTIN_NAMES.items() if name in supported_ops())


_SUPPORTED_CODES = _supported_codes()   # an operator code becomes one of these (any operator the engine lowers)


@dataclass
class Mutant:
    source: str
    how: str
    data: bytes


@dataclass
class Outcome:
    kind: str                 # see the module docstring
    detail: str = ""          # the error message (first line), or the exception type and where it was raised
    outputs: str = ""         # the output check's result, when run


@dataclass
class FuzzResult:
    counts: Counter = field(default_factory=Counter)
    output_counts: Counter = field(default_factory=Counter)
    bugs: list = field(default_factory=list)         # (Mutant how, Outcome)

    def add(self, mutant: Mutant, outcome: Outcome) -> None:
        self.counts[outcome.kind] += 1
        if outcome.outputs:
            self.output_counts[outcome.outputs] += 1
        if outcome.kind in BUG_OUTCOMES or outcome.outputs in BUG_OUTCOMES:
            self.bugs.append((f"{mutant.source}: {mutant.how}", outcome))


# --- mutations -------------------------------------------------------------------------------------------------
def _pick_int(rng: random.Random, current: int | None = None) -> int:
    if current is not None and rng.random() < 0.4:
        return int(current) + rng.choice((-1, 1, 2, -2))
    return rng.choice(_INTS)


def _edit_array(rng, arr, pick):
    """A copy of an int or float vector with one element replaced, dropped, duplicated or the vector emptied."""
    a = list(arr) if arr is not None else []
    r = rng.random()
    if not a or r < 0.1:
        a.append(pick(None))
    elif r < 0.2:
        a.pop(rng.randrange(len(a)))
    elif r < 0.3:
        a.append(a[rng.randrange(len(a))])
    elif r < 0.35:
        return None
    else:
        k = rng.randrange(len(a))
        a[k] = pick(a[k])
    return a


def _tensor_edit(rng, m, sg):
    if not sg.tensors:
        return "no tensors"
    i = rng.randrange(len(sg.tensors))
    t = sg.tensors[i]
    what = rng.choice(("shape", "shape", "type", "buffer", "scale", "scale", "zero_point", "zero_point",
                       "quantized_dimension", "is_variable", "data"))
    if what == "shape":
        t.shape = np.array(_edit_array(rng, t.shape, lambda c: _pick_int(rng, c)) or [], dtype=np.int64) \
            .clip(-2**31, 2**31 - 1).astype(np.int32)
    elif what == "type":
        t.type = rng.choice((0, 1, 2, 3, 4, 6, 7, 9, 10, 17, 200))
    elif what == "buffer":
        t.buffer = rng.choice((0, len(m.buffers), len(m.buffers) + 5, rng.randrange(len(m.buffers)), -1 & 0xFFFFFFFF))
    elif what in ("scale", "zero_point", "quantized_dimension"):
        if t.quantization is None:
            from tinyengine_tflite.schema import fb
            t.quantization = fb.QuantizationParametersT()
        q = t.quantization
        if what == "scale":
            q.scale = np.array(_edit_array(rng, q.scale, lambda c: rng.choice(_FLOATS) if c is None or
                                           rng.random() < 0.7 else c * rng.choice((2.0, 0.5, 1e10, 1e-10))) or [],
                               dtype=np.float32)
        elif what == "zero_point":
            q.zeroPoint = np.array(_edit_array(rng, q.zeroPoint, lambda c: _pick_int(rng, c)) or [], dtype=np.int64)
        else:
            q.quantizedDimension = rng.choice((-1, 1, 2, 3, 4, 100))
    elif what == "is_variable":
        t.isVariable = not t.isVariable
    else:
        b = m.buffers[t.buffer] if 0 <= t.buffer < len(m.buffers) else None
        if b is None or b.data is None or not len(b.data):
            return f"tensor {i} data (none)"
        d = np.array(b.data, dtype=np.uint8)
        if rng.random() < 0.5 and len(d) >= 4:      # a float32 special value (or int32 extreme) at an aligned spot
            k = rng.randrange(len(d) // 4) * 4
            d[k:k + 4] = np.frombuffer(np.array([rng.choice(_FLOATS)], dtype=np.float32).tobytes(), np.uint8)
        else:
            d = d[:rng.randrange(len(d))] if rng.random() < 0.3 else d
        b.data = d
    return f"tensor {i} {what}"


def _options_edit(rng, op):
    o = op.builtinOptions
    names = [k for k, v in vars(o).items() if isinstance(v, (int, float, bool, np.integer))] if o is not None else []
    if not names:
        op.builtinOptionsType = rng.randrange(0, 130)
        return "options type"
    k = rng.choice(names)
    v = getattr(o, k)
    setattr(o, k, rng.choice(_FLOATS) if isinstance(v, float) else (not v) if isinstance(v, bool)
            else _pick_int(rng, v))
    return f"option {k}"


def _operator_edit(rng, m, sg):
    if not sg.operators:
        return "no operators"
    i = rng.randrange(len(sg.operators))
    op = sg.operators[i]
    n = len(sg.tensors or [])
    pick = lambda c: rng.choice((-1, n, n + 3, rng.randrange(max(n, 1)), 2**31 - 1, -2))  # noqa: E731
    what = rng.choice(("inputs", "inputs", "outputs", "options", "options", "options", "opcode_index", "swap"))
    if what == "inputs":
        op.inputs = np.array(_edit_array(rng, op.inputs, pick) or [], dtype=np.int32)
    elif what == "outputs":
        op.outputs = np.array(_edit_array(rng, op.outputs, pick) or [], dtype=np.int32)
    elif what == "options":
        return f"operator {i} " + _options_edit(rng, op)
    elif what == "opcode_index":
        op.opcodeIndex = rng.choice((len(m.operatorCodes), rng.randrange(len(m.operatorCodes))))
    elif len(sg.operators) > 1:
        j = rng.randrange(len(sg.operators))
        sg.operators[i], sg.operators[j] = sg.operators[j], sg.operators[i]
    return f"operator {i} {what}"


def _graph_edit(rng, m, sg):
    n = len(sg.tensors or [])
    pick = lambda c: rng.choice((-1, n, -2, rng.randrange(max(n, 1))))  # noqa: E731
    what = rng.choice(("inputs", "outputs", "opcode", "opcode"))
    if what == "inputs":
        sg.inputs = None if rng.random() < 0.1 else np.array(_edit_array(rng, sg.inputs, pick) or [], dtype=np.int32)
    elif what == "outputs":
        sg.outputs = None if rng.random() < 0.1 else np.array(_edit_array(rng, sg.outputs, pick) or [],
                                                               dtype=np.int32)
    else:
        c = m.operatorCodes[rng.randrange(len(m.operatorCodes))]
        code = rng.choice((-1, 0, 3, 4, 9, 22, 32, 127, 150, 161, 210, 1000)) if rng.random() < 0.4 else \
            rng.choice(_SUPPORTED_CODES)
        c.builtinCode = code
        c.deprecatedBuiltinCode = max(-128, min(127, code)) if rng.random() < 0.7 else 127
    return f"graph {what}"


def schema_mutant(rng: random.Random, model_t) -> tuple[str, bytes]:
    """One to four schema edits; an edit whose value does not fit its field's type is drawn again."""
    from modelgen import pack_model
    while True:
        m = copy.deepcopy(model_t)
        sg = m.subgraphs[0]
        hows = []
        for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 4)):
            edit = rng.choice((_tensor_edit, _tensor_edit, _operator_edit, _operator_edit, _graph_edit))
            hows.append(edit(rng, m, sg))
        try:
            return "; ".join(hows), pack_model(m)
        except (TypeError, ValueError, OverflowError, struct.error):
            continue


def byte_mutant(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    if rng.random() < 0.25:
        n = rng.randrange(len(data))
        return f"truncated to {n}", data[:n]
    d = bytearray(data)
    flips = rng.randint(1, 8)
    # flips in the first 4 KiB or the last few hundred bytes hit the tables rather than the weights
    for _ in range(flips):
        k = rng.choice((rng.randrange(min(len(d), 4096)), rng.randrange(len(d)), len(d) - 1 - rng.randrange(
            min(len(d), 2048))))
        d[k] = rng.randrange(256)
    return f"{flips} byte flips", bytes(d)


def mutants(models: dict[str, bytes], count: int, seed: int):
    """`count` mutants of the models, deterministic in `seed`: 30% byte-level, 70% schema-aware."""
    from tinyengine_tflite.schema import fb
    rng = random.Random(seed)
    names = sorted(models)
    parsed = {}
    for k in range(count):
        name = names[k % len(names)]
        if rng.random() < 0.3:
            how, data = byte_mutant(rng, models[name])
        else:
            if name not in parsed:
                parsed[name] = fb.ModelT.InitFromPackedBuf(models[name], 0)
            how, data = schema_mutant(rng, parsed[name])
        yield Mutant(name, how, data)


# --- the sandboxed runner --------------------------------------------------------------------------------------
def _where(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    last = tb[-1] if tb else None
    at = f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}" if last else ""
    return f"{type(e).__name__}{at}: {str(e)[:200]}"


def _convert(data: bytes) -> Outcome:
    from tinyengine_tflite.compiler import convert
    from tinyengine_tflite.errors import ConversionError
    try:
        with tempfile.TemporaryDirectory() as d:
            convert(data, d)
    except ConversionError as e:
        return Outcome("refused", str(e).split("\n")[0])
    except Exception as e:
        return Outcome("exception", _where(e))
    return Outcome("converted")


def _engine_outputs(data: bytes):
    """(inputs, the engine's outputs) on one random input, or an error string."""
    import tinyengine_tflite
    from reference import random_inputs
    try:
        it = tinyengine_tflite.Interpreter(model_content=data)
        it.allocate_tensors()
        inputs = random_inputs(it.get_input_details(), 0)
        for d, x in zip(it.get_input_details(), inputs):
            it.set_tensor(d["index"], x)
        it.invoke()
        return inputs, [it.get_tensor(d["index"]) for d in it.get_output_details()]
    except Exception as e:
        return None, _where(e)


def _misbehave(how: str) -> None:
    if how == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(3600)


def _sanitized(data: bytes) -> tuple[str, str]:
    import tinyengine_tflite
    from sanitized import SANITIZE, build, input_bytes, run, sanitizer_clean
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        tinyengine_tflite.convert(data, work / "src")
        n = input_bytes(work / "src")
        try:
            r, _ = run(build(work / "src", work, "sanitized", SANITIZE), work, random.Random(0).randbytes(n))
        except AssertionError as e:          # the generated C does not compile
            return "sanitizer error", f"build failed: {str(e)[-1500:]}"
        return ("sanitizer clean", "") if sanitizer_clean(r) else ("sanitizer error", r.stderr[-1500:])


def _worker(conn) -> None:
    from reference import run_litert

    import tinyengine_tflite.compiler  # noqa: F401  (imported before "ready": the time limits exclude it)
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        data, check = msg
        if isinstance(data, tuple):              # the runner's self-test: ("crash" | "hang", _)
            _misbehave(data[0])
        outcome = _convert(data)
        if check == "sanitize" and outcome.kind == "converted":
            conn.send(outcome)
            conn.send(("ours done", ""))
            conn.send(_sanitized(data))
            continue
        if not (check and outcome.kind == "converted"):
            conn.send(outcome)
            continue
        conn.send(outcome)                       # the conversion's outcome first: a later crash is LiteRT's
        inputs, ours = _engine_outputs(data)
        if inputs is None:
            conn.send(("engine error", ours))
            continue
        conn.send(("ours done", ""))
        try:
            ref = run_litert(data, inputs)
        except Exception as e:
            conn.send(("litert refuses", _where(e)))
            continue
        same = len(ref) == len(ours) and all(a.dtype == b.dtype and a.shape == b.shape and
                                             a.tobytes() == b.tobytes() for a, b in zip(ours, ref))
        conn.send(("equal", "") if same else ("mismatch", f"ours {[a.reshape(-1)[:4] for a in ours]} "
                                                          f"litert {[b.reshape(-1)[:4] for b in ref]}"))


class Sandbox:
    """One worker process at a time; restarted after a crash or a hang."""

    def __init__(self, time_limit: float, check_time_limit: float = 120.0):
        self.ctx = multiprocessing.get_context("spawn")
        self.time_limit = time_limit
        self.check_time_limit = check_time_limit
        self.proc = self.conn = None

    def _start(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(120) or self.conn.recv() != "ready":
            raise RuntimeError("the fuzzing worker did not start")

    def _stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = self.conn = None

    def _recv(self, limit: float):
        """The worker's next message, "hang" past the limit, or "crash" when it died."""
        try:
            if self.conn.poll(limit):
                return self.conn.recv()
            self._stop()
            return "hang"
        except (EOFError, ConnectionError):
            self._stop()
            return "crash"

    def run(self, data: bytes, check: bool | str = False) -> Outcome:
        """The outcome of converting `data`; with check True also the output comparison, with "sanitize" the
        sanitizer run."""
        if self.proc is None:
            self._start()
        self.conn.send((data, check))
        first = self._recv(self.time_limit)
        if isinstance(first, str):
            return Outcome(first, f"worker {'died' if first == 'crash' else 'timed out'} converting")
        if not (check and first.kind == "converted"):
            return first
        second = self._recv(self.check_time_limit)
        if isinstance(second, str):
            return Outcome("converted", outputs="engine error", detail=f"engine {second}")
        if second[0] == "engine error":
            return Outcome("converted", outputs="engine error", detail=second[1])
        third = self._recv(self.check_time_limit * (5 if check == "sanitize" else 1))
        if isinstance(third, str):
            if check == "sanitize":
                return Outcome("converted", outputs="sanitizer error", detail=f"worker {third}")
            return Outcome("converted", outputs="litert crashed" if third == "crash" else "litert hang")
        return Outcome("converted", outputs=third[0], detail=third[1])

    def close(self):
        if self.proc is not None:
            try:
                self.conn.send(None)
                self.proc.join(5)
            except (BrokenPipeError, OSError):
                pass
            self._stop()


def fuzz(models: dict[str, bytes], count: int, seed: int = 0, time_limit: float = 20.0, check_every: int = 0,
         sanitize_every: int = 0, progress=None) -> FuzzResult:
    """Run `count` mutants; every `check_every`-th converted mutant (0: none) also has its outputs compared, every
    `sanitize_every`-th one its C run under the sanitizers."""
    result = FuzzResult()
    box = Sandbox(time_limit)
    converted = 0
    try:
        for k, mutant in enumerate(mutants(models, count, seed)):
            outcome = box.run(mutant.data)
            if outcome.kind == "converted":
                converted += 1
                if check_every and converted % check_every == 0:
                    outcome = box.run(mutant.data, check=True)
                elif sanitize_every and converted % sanitize_every == 0:
                    outcome = box.run(mutant.data, check="sanitize")
            result.add(mutant, outcome)
            if progress is not None:
                progress(k, mutant, outcome, result)
    finally:
        box.close()
    return result
