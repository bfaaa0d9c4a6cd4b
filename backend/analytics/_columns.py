"""Read-only, list-like views over numpy columns.

A :class:`MetricSeries` keeps its data in numpy arrays (the columnar currency of every hot path)
yet existing callers treat ``series.values`` and ``series.timestamps`` as lists. These views give
them list behaviour (``len``, indexing, iteration, ``==`` against a list, ``sum``/``min``/``max``)
while ``numpy.asarray(view)`` returns the underlying array without copying.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, overload

import numpy as np

from backend.analytics._timeconv import from_epoch_ns, to_epoch_ns


class FloatColumn(Sequence[float]):
    """A read-only float64 column that behaves like ``list[float]``.

    >>> col = FloatColumn(np.array([1.0, 2.5]))
    >>> col == [1.0, 2.5], sum(col), max(col), col[-1]
    (True, 3.5, 2.5, 2.5)
    """

    __slots__ = ("_data",)

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    def __len__(self) -> int:
        return int(self._data.shape[0])

    @overload
    def __getitem__(self, index: int) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> FloatColumn: ...
    def __getitem__(self, index: int | slice) -> float | FloatColumn:
        if isinstance(index, slice):
            return FloatColumn(self._data[index])
        return float(self._data[index])

    def __iter__(self) -> Iterator[float]:
        return iter(self._data.tolist())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FloatColumn):
            return np.array_equal(self._data, other._data)
        if isinstance(other, Sequence | np.ndarray) and not isinstance(other, str):
            return len(other) == len(self) and bool(np.array_equal(self._data, np.asarray(other)))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.tolist()) if len(self) <= 10 else f"FloatColumn(n={len(self)})"

    def tolist(self) -> list[float]:
        """A plain list copy."""
        return list(self._data.tolist())

    def to_numpy(self) -> np.ndarray:
        """The underlying read-only float64 array (no copy)."""
        return self._data


class TimeColumn(Sequence[datetime]):
    """A read-only epoch-ns column that behaves like ``list[datetime]``.

    Items come back naive (meaning UTC) unless the series was built from aware datetimes,
    so they compare without error with what the caller passed in.

    >>> col = TimeColumn(np.array([0, 60_000_000_000]), aware=False)
    >>> col[1]
    datetime.datetime(1970, 1, 1, 0, 1)
    """

    __slots__ = ("_aware", "_ns")

    def __init__(self, ns: np.ndarray, aware: bool) -> None:
        self._ns = ns
        self._aware = aware

    @property
    def aware(self) -> bool:
        """Whether items are timezone-aware UTC datetimes."""
        return self._aware

    def __len__(self) -> int:
        return int(self._ns.shape[0])

    @overload
    def __getitem__(self, index: int) -> datetime: ...
    @overload
    def __getitem__(self, index: slice) -> TimeColumn: ...
    def __getitem__(self, index: int | slice) -> datetime | TimeColumn:
        if isinstance(index, slice):
            return TimeColumn(self._ns[index], self._aware)
        return from_epoch_ns(int(self._ns[index]), self._aware)

    def __iter__(self) -> Iterator[datetime]:
        aware = self._aware
        return (from_epoch_ns(ns, aware) for ns in self._ns.tolist())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        as_dt = self._ns.view("datetime64[ns]")
        return as_dt if dtype is None else as_dt.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TimeColumn):
            return np.array_equal(self._ns, other._ns)
        if isinstance(other, Sequence) and not isinstance(other, str):
            if len(other) != len(self):
                return False
            return all(to_epoch_ns(o) == int(n) for o, n in zip(other, self._ns, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self)) if len(self) <= 5 else f"TimeColumn(n={len(self)})"

    def tolist(self) -> list[datetime]:
        """A plain list of datetimes."""
        return list(self)

    def to_numpy(self) -> np.ndarray:
        """The underlying read-only int64 epoch-ns array (no copy)."""
        return self._ns
