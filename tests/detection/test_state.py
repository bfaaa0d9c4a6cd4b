from __future__ import annotations

import hashlib

import numpy as np
import pytest

from backend.detection.state import STATE_BYTES, dump_state, load_state, params_fingerprint
from backend.detection.streaming.detector import StreamingDetector
from backend.detection.streaming.params import P_WARMUP_HOURS, DetectorParams
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


def test_a_state_carries_over_a_change_of_threshold() -> None:
    """The alarm level decides which changes still to come alarm, not what the state has
    learnt: a state resumes under another threshold and scores as a detector learnt under
    the new one would from that point, while other hyperparameters still refuse it."""
    values, ts = noisy(900, seed=6), minutes(900)
    values[800] += 40
    first = StreamingDetector(DetectorParams(anomaly_cut=0.5))
    first.score(ts[:600], values[:600])
    stricter = DetectorParams(anomaly_cut=0.7)
    resumed = load_state(dump_state(first), stricter)
    assert resumed.params.anomaly_cut == 0.7
    assert resumed.score(ts[600:], values[600:]).scores[200] >= 0.7  # the spike still alarms
    with pytest.raises(ValidationError, match="params"):
        load_state(dump_state(first), DetectorParams(anomaly_cut=0.7, log_scale=9.0))


def test_default_fingerprint_is_the_one_states_were_saved_with() -> None:
    """Leaving the alarm level out of the fingerprint must not orphan saved states: at the
    default level it is the hash of the packed hyperparameters, as it always was."""
    params = DetectorParams()
    packed = np.delete(params.to_array(), P_WARMUP_HOURS)  # as packed before warmup_hours
    old = hashlib.blake2b(packed.tobytes(), digest_size=8).digest()
    assert params_fingerprint(params) == old
    assert old.hex() == "23c9a5aa70e4cda0"  # the defaults' fingerprint at 09bdac5 (session 43)
    assert params_fingerprint(DetectorParams(anomaly_cut=0.65)) == old
    assert params_fingerprint(DetectorParams(log_scale=9.0)) != old


def test_a_state_carries_over_a_change_of_learning_period() -> None:
    """The learning period only silences scores: a state saved under one resumes under
    another (and states saved before it existed resume under the default)."""
    values, ts = noisy(900, seed=6), minutes(900)
    first = StreamingDetector(DetectorParams(warmup_hours=0.0))
    first.score(ts[:600], values[:600])
    resumed = load_state(dump_state(first), DetectorParams(warmup_hours=24.0))
    assert resumed.params.warmup_hours == 24.0
    assert params_fingerprint(DetectorParams(warmup_hours=3.0)) == params_fingerprint(
        DetectorParams()
    )
