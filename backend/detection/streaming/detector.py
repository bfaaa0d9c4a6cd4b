"""Python faces of the compiled kernel: one series (:class:`StreamingDetector`) and many
series advancing together (:class:`DetectorBank`).

Both call the same per-point ``step``, so a series scored point by point in a bank, in one
call over its stored history, or across a save/restore gets bit-identical scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.detection.streaming import kernel
from backend.detection.streaming.layout import STATE_SIZE
from backend.detection.streaming.params import DetectorParams
from backend.errors import ValidationError

__all__ = ["STATISTIC_NAMES", "DetectorBank", "ScoredSeries", "StreamingDetector"]

#: Which surprise statistic decided a point's score (``ScoredSeries.statistic``).
STATISTIC_NAMES: tuple[str, ...] = (
    "point_up",
    "point_down",
    "mean_up",
    "mean_down",
    "volatility",
    "novel_value",
    "gap",
    "pair",
    "slow_shift",
    "slow_volatility",
    "slow_swing",
    "flat",
)


@dataclass(frozen=True, eq=False)
class ScoredSeries:
    """Per-point output of the detector, aligned with the input points.

    ``expected``, ``lower`` and ``upper`` are the forecast and the band outside of which the
    point residual alone would reach score 0.5; for a counter they (and ``modelled``) are in
    rate units (per second). ``statistic`` indexes :data:`STATISTIC_NAMES` (−1 in warm-up).
    """

    timestamps_ns: np.ndarray
    values: np.ndarray
    scores: np.ndarray
    raw_scores: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z: np.ndarray
    modelled: np.ndarray
    statistic: np.ndarray

    @classmethod
    def from_kernel(cls, ts_ns: np.ndarray, values: np.ndarray, out: np.ndarray) -> ScoredSeries:
        """Split the kernel's ``(n, OUT_WIDTH)`` output into named columns."""
        return cls(
            ts_ns,
            values,
            out[:, kernel.OUT_SCORE],
            out[:, kernel.OUT_RAW],
            out[:, kernel.OUT_EXPECTED],
            out[:, kernel.OUT_LOWER],
            out[:, kernel.OUT_UPPER],
            out[:, kernel.OUT_Z],
            out[:, kernel.OUT_VALUE],
            out[:, kernel.OUT_STAT].astype(np.int8),
        )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def as_rate(self) -> bool:
        """True when the detector modelled the values as a counter's rate per second (then
        ``modelled``, ``expected`` and the band are in rate units, not the values')."""
        return not np.allclose(self.modelled, self.values, rtol=1e-9, atol=0.0, equal_nan=True)


def _as_inputs(timestamps_ns: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.ascontiguousarray(timestamps_ns, dtype=np.int64)
    xs = np.ascontiguousarray(values, dtype=np.float64)
    if ts.shape != xs.shape or ts.ndim != 1:
        raise ValidationError("values", xs.shape, f"must be 1-D and match timestamps {ts.shape}")
    if xs.size and not np.isfinite(xs).all():
        bad = int(np.argmin(np.isfinite(xs)))
        raise ValidationError(f"values[{bad}]", float(xs[bad]), "must be finite")
    return ts, xs


class StreamingDetector:
    """Scores one series point by point; feed it history once, then new points as they come.

    >>> import numpy as np
    >>> det = StreamingDetector()
    >>> ts = np.arange(400, dtype=np.int64) * 300_000_000_000  # five-minute points
    >>> values = 10 + np.sin(np.arange(400) / 7.0)
    >>> values[350] = 40.0
    >>> scored = det.score(ts, values)
    >>> bool(scored.scores[350] > 0.5), float(scored.scores[:det.params.warmup_points].max())
    (True, 0.0)
    """

    def __init__(
        self, params: DetectorParams | None = None, state: np.ndarray | None = None
    ) -> None:
        self.params = params or DetectorParams()
        self._packed = self.params.to_array()
        if state is None:
            state = np.zeros(STATE_SIZE, dtype=np.float64)
        elif state.shape != (STATE_SIZE,):
            raise ValidationError("state", state.shape, f"must have shape ({STATE_SIZE},)")
        self._state = np.array(state, dtype=np.float64)

    @property
    def state(self) -> np.ndarray:
        """A copy of the current state vector."""
        return self._state.copy()

    @property
    def points_seen(self) -> int:
        """How many points this detector has read."""
        return int(self._state[1])

    def score(self, timestamps_ns: np.ndarray, values: np.ndarray) -> ScoredSeries:
        """Score new points (each only against what came before it) and learn from them."""
        ts, xs = _as_inputs(timestamps_ns, values)
        out = kernel.score_history(self._state, self._packed, ts, xs)
        return ScoredSeries.from_kernel(ts, xs, out)


class DetectorBank:
    """Many series in one 2-D state array; :meth:`update` advances any subset by one point.

    >>> import numpy as np
    >>> bank = DetectorBank(3)
    >>> for tick in range(5):
    ...     out = bank.update(np.arange(3), np.full(3, tick * 60 * 10**9), np.ones(3))
    >>> out.shape
    (3,)
    """

    def __init__(self, n_series: int, params: DetectorParams | None = None) -> None:
        if n_series < 0:
            raise ValidationError("n_series", n_series, "must not be negative")
        self.params = params or DetectorParams()
        self._packed = self.params.to_array()
        self.states = np.zeros((n_series, STATE_SIZE), dtype=np.float64)

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def grow(self, n_new: int) -> np.ndarray:
        """Add ``n_new`` fresh series; returns their row numbers."""
        start = len(self)
        self.states = np.vstack([self.states, np.zeros((n_new, STATE_SIZE))])
        return np.arange(start, start + n_new)

    def update(
        self, rows: np.ndarray, timestamps_ns: np.ndarray, values: np.ndarray, full: bool = False
    ) -> np.ndarray:
        """One new point per listed row; returns the scores (or all outputs if ``full``)."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        ts, xs = _as_inputs(timestamps_ns, values)
        if rows.shape != xs.shape:
            raise ValidationError("rows", rows.shape, f"must match values {xs.shape}")
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise ValidationError("rows", int(rows.max()), f"bank has {len(self)} series")
        out = kernel.bank_step(self.states, self._packed, ts, xs, rows)
        return out if full else out[:, kernel.OUT_SCORE].copy()
