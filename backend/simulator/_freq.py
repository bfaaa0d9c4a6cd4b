"""Parse sampling frequencies such as ``"1min"``, ``"5min"``, ``"60s"``, ``"1h"`` or ``30``."""

from __future__ import annotations

import math
import numbers
import re
from datetime import timedelta
from typing import Any

from backend.errors import ValidationError

NS_PER_SECOND = 1_000_000_000
_UNITS = {
    "ms": 1e-3, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}  # fmt: skip
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")


def parse_freq(freq: Any, field: str = "freq") -> int:
    """A sampling interval in nanoseconds; bare numbers are seconds.

    >>> parse_freq("1min"), parse_freq("60s") == parse_freq(60), parse_freq(timedelta(hours=1))
    (60000000000, True, 3600000000000)
    >>> parse_freq("soon")
    Traceback (most recent call last):
    ...
    backend.errors.ValidationError: freq='soon': not a frequency; use e.g. 60s, 1min, 5min, 1h
    """
    seconds = _seconds(freq, field)
    ns = round(seconds * NS_PER_SECOND) if math.isfinite(seconds) else 0
    if ns < 1:
        raise ValidationError(field, freq, "must be a positive interval")
    return ns


def _seconds(freq: Any, field: str) -> float:
    if isinstance(freq, timedelta):
        return freq.total_seconds()
    if isinstance(freq, numbers.Real) and not isinstance(freq, bool):
        return float(freq)
    if isinstance(freq, str):
        match = _PATTERN.match(freq.lower())
        if match and match.group(2) in {"", *_UNITS}:
            return float(match.group(1)) * _UNITS.get(match.group(2), 1.0)
    raise ValidationError(field, freq, "not a frequency; use e.g. 60s, 1min, 5min, 1h")
