"""Vectorised parsing of the ``timestamp`` and ``value`` columns of a metric file.

Each parser returns the parsed array plus a per-row problem code (0 = fine), so one bad row
costs its series, not the file, and the reader can say which row failed and why without a
Python loop over rows. Timestamps may be ISO-8601 strings (naive = UTC, offsets converted),
epoch seconds (int, float or numeric strings) or, from Parquet, native timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backend.analytics._timeconv import NS_PER_SECOND

__all__ = ["ParsedColumn", "parse_timestamps", "parse_values"]

# Epoch seconds representable as int64 nanoseconds (years 1678-2262).
_MAX_EPOCH_SECONDS = np.iinfo(np.int64).max // NS_PER_SECOND


@dataclass(frozen=True)
class ParsedColumn:
    """``data`` aligned with the rows; ``codes[i]`` indexes ``reasons`` (0 means no problem).

    >>> parsed = parse_values(pd.Series(["1.5", "abc", None]))
    >>> parsed.data[0], [parsed.reasons[c] for c in parsed.codes[1:]]
    (1.5, ['is not a number', 'is missing'])
    """

    data: np.ndarray
    codes: np.ndarray
    reasons: tuple[str, ...]

    @property
    def bad(self) -> np.ndarray:
        """Mask of rows with a problem."""
        return self.codes != 0


_VALUE_REASONS = ("", "is missing", "is not a number", "is not finite (inf)")
_TIME_REASONS = (
    "",
    "is missing",
    "cannot be parsed as an ISO-8601 time or epoch seconds",
    "is out of range (epoch seconds expected; milliseconds?)",
)


def parse_values(column: pd.Series) -> ParsedColumn:
    """Float64 values; missing, non-numeric and infinite cells get distinct codes."""
    missing = column.isna().to_numpy()
    if column.dtype.kind in "biuf":
        data = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        data = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    codes = np.zeros(data.shape[0], dtype=np.int8)
    codes[np.isinf(data)] = 3
    codes[np.isnan(data) & ~missing] = 2
    codes[missing] = 1
    return ParsedColumn(data, codes, _VALUE_REASONS)


def parse_timestamps(column: pd.Series) -> ParsedColumn:
    """int64 epoch-ns timestamps from native, numeric or text cells."""
    if column.dtype.kind == "M":
        return _from_datetimes(column)
    if column.dtype.kind in "iu":
        return _from_integer_seconds(column.to_numpy(dtype=np.int64))
    if column.dtype.kind == "f":
        return _from_epoch_seconds(column.to_numpy(dtype=np.float64, na_value=np.nan))
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    from_numbers = _from_epoch_seconds(numbers)
    is_text = np.isnan(numbers)
    if not is_text.any():
        return from_numbers
    texts = column.where(is_text)
    stamps = pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")
    from_texts = _from_datetimes(stamps)
    data = np.where(is_text, from_texts.data, from_numbers.data)
    codes = np.where(is_text, np.where(from_texts.bad, 2, 0), from_numbers.codes).astype(np.int8)
    codes[column.isna().to_numpy()] = 1
    return ParsedColumn(data, codes, _TIME_REASONS)


def _from_datetimes(column: pd.Series) -> ParsedColumn:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = column.isna().to_numpy()
    data = column.astype("datetime64[ns]").to_numpy().view(np.int64).copy()
    data[missing] = 0
    codes = np.where(missing, 1, 0).astype(np.int8)
    return ParsedColumn(data, codes, _TIME_REASONS)


def _from_integer_seconds(seconds: np.ndarray) -> ParsedColumn:
    out_of_range = np.abs(seconds) >= _MAX_EPOCH_SECONDS
    data = np.where(out_of_range, 0, seconds) * NS_PER_SECOND
    codes = np.where(out_of_range, 3, 0).astype(np.int8)
    return ParsedColumn(data, codes, _TIME_REASONS)


def _from_epoch_seconds(seconds: np.ndarray) -> ParsedColumn:
    missing = np.isnan(seconds)
    out_of_range = ~missing & ~(np.abs(seconds) < _MAX_EPOCH_SECONDS)
    usable = np.where(missing | out_of_range, 0.0, seconds)
    data = np.round(usable * NS_PER_SECOND).astype(np.int64)
    codes = np.zeros(seconds.shape[0], dtype=np.int8)
    codes[out_of_range] = 3
    codes[missing] = 1
    return ParsedColumn(data, codes, _TIME_REASONS)
