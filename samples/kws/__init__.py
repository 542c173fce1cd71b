"""Keyword spotting sample: Speech Commands data, an espeak-ng offline default and the MFCC front end."""
from .data import (KEYWORDS, LABELS, load_default_kws, load_speech_commands, read_wav,
                   synthesize_default_kws)

__all__ = ["KEYWORDS", "LABELS", "load_speech_commands", "load_default_kws", "synthesize_default_kws", "read_wav"]
