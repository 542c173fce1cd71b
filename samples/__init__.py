"""Data side of the two MCUNet sample applications.

- ``samples.vww``: Visual Wake Words (person / no person images) loaders, an offline proxy data set and a C99
  BMP reader that produces the model's int8 input tensor.
- ``samples.kws``: keyword spotting (Speech Commands, 12 classes) loaders, an offline espeak-ng synthesized data
  set and an MFCC front end in TensorFlow (training) and C99 (deployment) that compute the same features.
- ``samples.quantize``: float -> int8 quantization exactly as TFLite does it, in Python and C.
"""
