"""A model's SignatureDefs: the named entry points (inputs and outputs by name) that TF2 scripts call through
tf.lite.Interpreter.get_signature_runner(). Read from the flatbuffer, which the reader has already validated."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ConversionError
from .schema import root_model


@dataclass(frozen=True)
class Signature:
    key: str                        # e.g. "serving_default"
    inputs: dict[str, int]          # input name -> TFLite tensor index, sorted by name (as TFLite lists them)
    outputs: dict[str, int]
    subgraph_index: int = 0


def _text(b) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def _names(count, get) -> dict[str, int]:
    pairs = [(_text(get(k).Name()), int(get(k).TensorIndex())) for k in range(count)]
    return dict(sorted(pairs))


def read_signatures(buf: bytes, model_name: str = "<bytes>") -> list[Signature]:
    """The model's SignatureDefs, in file order (none for models converted without one)."""
    try:
        m = root_model(buf)
        return [Signature(_text(sd.SignatureKey()), _names(sd.InputsLength(), sd.Inputs),
                          _names(sd.OutputsLength(), sd.Outputs), int(sd.SubgraphIndex()))
                for sd in (m.SignatureDefs(k) for k in range(m.SignatureDefsLength()))]
    except Exception as e:  # the bindings raise whatever struct/IndexError a bad offset causes
        raise ConversionError(f"corrupt SignatureDef table ({type(e).__name__}: {e})", model=model_name) from None
