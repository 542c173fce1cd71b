"""The two MCUNet sample applications, from data to a deployable C folder.

- ``samples.vww``: Visual Wake Words (person / no person) loaders, an offline proxy data set and a C99 BMP reader
  that produces the model's int8 input tensor; ``python -m samples.vww`` runs the application end to end.
- ``samples.kws``: keyword spotting (Speech Commands, 12 classes) loaders, an offline espeak-ng synthesized data
  set and an MFCC front end in TensorFlow (training) and C99 (deployment) that compute the same features;
  ``python -m samples.kws`` runs the application end to end.
- ``samples.quantize``: float -> int8 quantization exactly as TFLite does it, in Python and C.
- ``samples.pipeline``: search -> QAT -> int8 export -> TinyEngine C -> benchmark, as a list of named stages;
  ``samples.budget``: its memory limits and search budget (presets, command-line options); ``samples.results``:
  what it measured (typed) and the table.
- ``samples.deploy``: the deployable folder (model C, app C, main.c, Cortex-M firmware, Makefile).
- ``samples.firmware``: runs that firmware on an emulated Cortex-M4.
- ``samples.main``: the main job (``keras-mcunet-demo``), the whole pipeline on the offline data in minutes.
"""
from tinyengine_tflite.extras import require_extra

require_extra("samples", "samples (the sample apps)")
