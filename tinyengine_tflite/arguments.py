"""Argument checks shared by every package of the project (tinyengine_tflite, keras_mcunet, tuner): each returns
the value normalized (a Python int or float) or raises ValueError naming the argument, the rule and the value.
It lives in the lowest package so that all of them can use it; it imports only numpy."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, False for bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_count(value: Any, what: str, minimum: int = 1) -> int:
    """`value` as an int, or a ValueError when it is not an int >= minimum."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_positive_int(value: Any, what: str) -> int:
    """`value` as an int, or a ValueError when it is not an int > 0."""
    if not (is_int(value) and value > 0):
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)


def check_number(value: Any, what: str, minimum: float = 0.0, open_low: bool = True) -> float:
    """`value` as a float, or a ValueError when it is not a number > minimum (>= with open_low=False)."""
    if not _is_real(value) or value < minimum or (open_low and value == minimum):
        raise ValueError(f"{what} must be a number {'>' if open_low else '>='} {minimum}, got {value!r}")
    return float(value)


def check_ratio(value: Any, what: str, low_open: bool = False) -> float:
    """`value` as a float, or a ValueError when it is not a number in [0, 1] ((0, 1] with low_open=True)."""
    if not _is_real(value) or not 0.0 <= value <= 1.0 or (low_open and value == 0):
        raise ValueError(f"{what} must be a number in {'(0' if low_open else '[0'}, 1], got {value!r}")
    return float(value)


def check_whole_number(value: Any, what: str, unit: str) -> int:
    """`value` (an int, or a float with no fractional part: 320 * 1024.0) as a positive int of `unit`s."""
    if not _is_real(value):
        raise ValueError(f"{what} must be a positive number of {unit}, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    if float(value) != int(value):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def check_choice(value: Any, what: str, choices: Sequence) -> Any:
    """`value` when it is one of `choices`, else a ValueError listing them."""
    if value not in choices:
        names = [repr(c) for c in choices]
        allowed = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
        raise ValueError(f"{what} must be {allowed}, got {value!r}")
    return value


def check_text(value: Any, what: str) -> str:
    """`value` when it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value
