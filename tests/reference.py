"""Bit-exact references: LiteRT with its reference kernels (BUILTIN_REF) and TFLite Micro. The engine's
default conversion reproduces the first, its reference="tflm" conversion the second."""
from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SUITE_DIR = SHARED / "models"


def shared_missing(folder: str) -> str | None:
    """Why tests of ../shared/`folder` (models: the suite of real models, data: the samples' real inputs) are
    skipped, or None when the folder has files."""
    path = SHARED / folder
    if path.is_dir() and any(path.iterdir()):
        return None
    return f"../shared/{folder} not found: {path} is missing or empty (put the shared folder next to the repository)"


def suite_models() -> list[Path]:
    return sorted(SUITE_DIR.glob("*.tflite"))


def suite_params(slow=()) -> list:
    """The suite's models as pytest parameters (id: the file's stem; those named in `slow` marked slow), or, when
    ../shared/models is missing, one parameter that is skipped with that reason."""
    import pytest
    if shared_missing("models"):
        return [pytest.param(None, id="no-suite", marks=pytest.mark.skip(reason=shared_missing("models")))]
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in slow else []) for p in suite_models()]


def random_inputs(details: list[dict], seed: int) -> list[np.ndarray]:
    """Inputs for every model input: full int8 range, or floats spanning the input's typical range."""
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        shape = tuple(int(s) for s in d["shape"])
        if d["dtype"] == np.int8:
            out.append(rng.integers(-128, 128, shape).astype(np.int8))
        else:
            out.append(rng.uniform(-1.0, 1.0, shape).astype(np.float32))
    return out


def run_litert(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def run_tflm(model: bytes, inputs: list[np.ndarray], n_outputs: int | None = None) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model)
    for i, x in enumerate(inputs):
        it.set_input(x, i)
    it.invoke()
    if n_outputs is None:
        n_outputs = len(run_litert_details(model))
    return [it.get_output(i) for i in range(n_outputs)]


def run_litert_details(model: bytes) -> list[dict]:
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_content=model)
    return it.get_output_details()


def run_tinyengine(model: bytes, inputs: list[np.ndarray], reference: str = "litert") -> list[np.ndarray]:
    import tinyengine_tflite
    it = tinyengine_tflite.Interpreter(model_content=model, reference=reference)
    it.allocate_tensors()
    return _invoke(it, inputs)


def _invoke(it, inputs: list[np.ndarray]) -> list[np.ndarray]:
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def same_code(a, b) -> bool:
    """Whether two LoweredModels of one graph make the same kernel calls with the same parameters and
    constants, and so generate the same C (one built library then serves both)."""
    if len(a.layers) != len(b.layers):
        return False
    for x, y in zip(a.layers, b.layers):
        if (x.kernel, x.params, len(x.consts)) != (y.kernel, y.params, len(y.consts)):
            return False
        for c, d in zip(x.consts, y.consts):
            if c.dtype != d.dtype or c.count != d.count or not np.array_equal(c.data, d.data):
                return False
    return True


def engines(model: bytes, tflm: bool = True) -> dict:
    """Allocated tinyengine Interpreters by reference: "litert" (the default conversion) and, with tflm,
    "tflm" (reference="tflm"). Where the two lowerings generate the same C (no operator the references
    disagree on), the litert interpreter stands for both and no second library is built."""
    import tinyengine_tflite
    out = {"litert": tinyengine_tflite.Interpreter(model_content=model)}
    if tflm:
        it = tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
        out["tflm"] = out["litert"] if same_code(out["litert"]._model, it._model) else it
    for it in out.values():
        it.allocate_tensors()
    return out


def assert_equal_bytes(ours: list[np.ndarray], ref: list[np.ndarray], who: str, seed=None) -> None:
    assert len(ours) == len(ref), f"{who}: {len(ref)} outputs, tinyengine {len(ours)}"
    for k, (a, b) in enumerate(zip(ours, ref)):
        assert a.dtype == b.dtype and a.shape == b.shape, (who, k, a.dtype, b.dtype, a.shape, b.shape)
        diff = np.flatnonzero(a.reshape(-1).view(np.uint8 if a.dtype == np.int8 else np.uint32) !=
                              b.reshape(-1).view(np.uint8 if b.dtype == np.int8 else np.uint32))
        assert diff.size == 0, (f"output {k} differs from {who} at {diff.size} of {a.size} positions "
                                f"(seed {seed}); first {diff[:5]}: ours {a.reshape(-1)[diff[:5]]}, "
                                f"{who} {b.reshape(-1)[diff[:5]]}")


def assert_bit_exact(model: bytes, seeds=(0, 1, 2), tflm: bool = True) -> None:
    """On several inputs, byte for byte: the default conversion's outputs equal LiteRT BUILTIN_REF's, and (with
    tflm) the reference="tflm" conversion's outputs equal TFLite Micro's."""
    its = engines(model, tflm)
    details = its["litert"].get_input_details()
    for seed in seeds:
        inputs = random_inputs(details, seed)
        ours = _invoke(its["litert"], inputs)
        assert_equal_bytes(ours, run_litert(model, inputs), "litert", seed)
        if tflm:
            if its["tflm"] is not its["litert"]:
                ours = _invoke(its["tflm"], inputs)
            assert_equal_bytes(ours, run_tflm(model, inputs, len(ours)), "tflm", seed)
