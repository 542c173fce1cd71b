"""tinyengine_tflite: int8 TFLite -> statically planned C99, and a drop-in tf.lite.Interpreter that runs it."""
from .compiler import compile_model, convert
from .errors import ConversionError, UnsupportedOperatorError
from .interpreter import Interpreter, OpResolverType
from .report import ConversionReport

__all__ = ["convert", "compile_model", "Interpreter", "OpResolverType", "ConversionError",
           "UnsupportedOperatorError", "ConversionReport"]
