from __future__ import annotations

import numpy as np
import pytest

from backend.detection.state import STATE_BYTES, dump_state, load_state
from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.params import DetectorParams
from backend.errors import ValidationError
from tests.detection._series import minutes, noisy


def test_state_round_trip_bit_identical_scores() -> None:
    values, ts = noisy(800, seed=4), minutes(800)
    values[700] += 30
    straight = StreamingDetector().score(ts, values)
    first = StreamingDetector()
    first.score(ts[:500], values[:500])
    resumed = load_state(dump_state(first)).score(ts[500:], values[500:])
    for name in ("scores", "raw_scores", "expected", "lower", "upper", "z"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(straight, name)[500:])


def test_state_size_within_4kb() -> None:
    assert STATE_BYTES <= 4096


def test_load_state_other_params_rejected() -> None:
    data = dump_state(StreamingDetector())
    with pytest.raises(ValidationError, match="params"):
        load_state(data, DetectorParams(alpha_level=0.5))


def test_load_state_truncated_rejected() -> None:
    with pytest.raises(ValidationError, match="bytes"):
        load_state(dump_state(StreamingDetector())[:-8])


def test_load_state_bad_magic_rejected() -> None:
    data = bytearray(dump_state(StreamingDetector()))
    data[:4] = b"XXXX"
    with pytest.raises(ValidationError, match="magic"):
        load_state(bytes(data))
