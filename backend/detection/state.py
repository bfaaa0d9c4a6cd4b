"""Saving a series' detector state to bytes and restoring it, so detection resumes after a
restart without re-reading history.

Layout (little-endian): magic ``b"ACSD"``, format version (u16), number of state slots (u16),
an 8-byte fingerprint of the hyperparameters, then the float64 state. Restoring checks all
three, because a state learnt under other hyperparameters would silently score differently
(the alarm level, i.e. the threshold, excepted: see :func:`params_fingerprint`).
The float64 values are copied exactly, so scores after a restore are bit-identical.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import struct

import numpy as np

from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.layout import STATE_SIZE
from backend.detection.streaming.params import P_WARMUP_HOURS, DetectorParams
from backend.errors import ValidationError

__all__ = ["FORMAT_VERSION", "STATE_BYTES", "dump_state", "load_state", "params_fingerprint"]

MAGIC = b"ACSD"
# 18: the point residuals' records in the series' linear units, not on the compressed scale (same
# slots, other meaning); 17: the daily profile learns the cycle the level carries and the day level
# averages the forecast (same slots, other meaning); 16: the record gate also in the series' units
# (the fit's cached linear edge dropped for its eight slots); 15: the gap before the previous point,
# judged a point late (one more slot); 14: the all-time record floor (same slots, other scores: a
# state of 13 would resume with scores its detector never gave); 13: the range of values ever seen
# (the far-value guard); 12: random-walk forecaster; 11: stuck-value runs; 10: time of the last
# alarm; 9: level swing; 8: tail shapes; 7: day-level range; 6: pair (exact residual records, v15,
# read the same slots: a state of format 12 from before them holds bin edges, a valid upper bound)
FORMAT_VERSION = 18
_HEADER = struct.Struct("<4sHH8s")
_FINGERPRINT_CUT = DetectorParams().anomaly_cut  # the alarm level a fingerprint reads
STATE_BYTES = _HEADER.size + 8 * STATE_SIZE


@functools.lru_cache(maxsize=256)  # a run asks once per series, for a few distinct params
def params_fingerprint(params: DetectorParams) -> bytes:
    """8 bytes identifying the hyperparameters a state was learnt under.

    The alarm level (``anomaly_cut``, the threshold) is left out: it decides which of the
    changes still to come alarm, not what the state means, so a metric's threshold can be
    changed without relearning its series. It is read at its default, so states saved
    before it followed the threshold keep their fingerprint. The learning period
    (``warmup_hours``) is left out too: it silences scores, never changes what is learnt,
    and states saved before it existed keep their fingerprint.
    """
    learnt = dataclasses.replace(params, anomaly_cut=_FINGERPRINT_CUT)
    packed = np.delete(learnt.to_array(), P_WARMUP_HOURS)
    return hashlib.blake2b(packed.tobytes(), digest_size=8).digest()


def dump_state(detector: StreamingDetector) -> bytes:
    """The detector's state as :data:`STATE_BYTES` bytes.

    >>> import numpy as np
    >>> det = StreamingDetector()
    >>> _ = det.score(np.arange(3, dtype=np.int64) * 60 * 10**9, np.ones(3))
    >>> len(dump_state(det)) == STATE_BYTES
    True
    """
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, STATE_SIZE, params_fingerprint(detector.params))
    return header + detector.state.astype("<f8").tobytes()


def load_state(data: bytes, params: DetectorParams | None = None) -> StreamingDetector:
    """A detector resumed from :func:`dump_state` output (same hyperparameters required)."""
    params = params or DetectorParams()
    if len(data) != STATE_BYTES:
        raise ValidationError("state", f"{len(data)} bytes", f"expected {STATE_BYTES} bytes")
    magic, version, size, fingerprint = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValidationError("state", magic, "not a detector state (bad magic)")
    if version != FORMAT_VERSION or size != STATE_SIZE:
        raise ValidationError(
            "state",
            f"v{version}/{size}",
            f"unsupported format (expected v{FORMAT_VERSION}/{STATE_SIZE})",
        )
    if fingerprint != params_fingerprint(params):
        raise ValidationError("params", params, "differ from those the state was learnt under")
    state = np.frombuffer(data, dtype="<f8", offset=_HEADER.size).astype(np.float64)
    return StreamingDetector(params, state)
