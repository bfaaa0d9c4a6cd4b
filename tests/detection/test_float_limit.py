"""Values near the float limit: the compiled kernel must stay inside its arrays.

The kernel runs without bounds checks, so a statistic that overflows to inf or NaN must never
become an index. Each run here gives the kernel a state, output and scratch that are views
with guard cells behind them: a stray write lands in a guard cell and fails the test instead
of corrupting the heap of the test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.types import MetricSeries
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.streaming import kernel
from backend.detection.streaming import layout as ly
from backend.detection.streaming.detector import DetectorBank, StreamingDetector

ROOT = Path(__file__).resolve().parents[2]
FLOAT_MAX = float(np.finfo(np.float64).max)
POINTS = 600


def _shapes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    noise = rng.normal(50.0, 5.0, POINTS)
    spike = noise.copy()
    spike[POINTS // 2] = FLOAT_MAX
    dip = noise.copy()
    dip[POINTS // 2] = -FLOAT_MAX
    return {
        "alternating at ±1.7e308": np.where(rng.random(POINTS) < 0.5, 1.7e308, -1.7e308),
        "one sample at the float maximum": spike,
        "one sample at the float minimum": dip,
        "pegged at the maximum halfway": np.r_[
            noise[: POINTS // 2], np.full(POINTS // 2, FLOAT_MAX)
        ],
    }


def _guarded(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(zeroed buffer, view of ``shape`` at its start): the rest of the buffer is guard cells."""
    size = int(np.prod(shape))
    buffer = np.zeros(2 * size + ly.STATE_SIZE)
    return buffer, buffer[:size].reshape(shape)


@pytest.mark.parametrize("shape", list(_shapes()))
def test_the_kernel_writes_only_inside_its_arrays(shape: str) -> None:
    values = _shapes()[shape]
    series = MetricSeries(
        "t", "c", "n", "cpu_usage", np.arange(POINTS) * 300 + 1_700_000_000, values
    )
    packed = DefaultAnomalyEngine().params_for(series).to_array()
    state_buffer, state = _guarded((ly.STATE_SIZE,))
    out_buffer, out = _guarded((POINTS, kernel.OUT_WIDTH))
    scratch_buffer, scratch = _guarded((ly.N_SCRATCH,))

    kernel._score_into(state, packed, series.timestamps_ns, series.values_array, out, scratch)

    for name, buffer, size in (
        ("state", state_buffer, state.size),
        ("output", out_buffer, out.size),
        ("scratch", scratch_buffer, scratch.size),
    ):
        assert not buffer[size:].any(), f"the kernel wrote past the end of its {name}"
    scores = out[:, kernel.OUT_SCORE]
    assert np.all((scores >= 0.0) & (scores <= 1.0))


def test_an_engine_scores_a_sample_at_the_float_maximum() -> None:
    values = _shapes()["one sample at the float maximum"]
    series = MetricSeries(
        "t", "c", "n", "cpu_usage", np.arange(POINTS) * 300 + 1_700_000_000, values
    )
    scored = DefaultAnomalyEngine().score_series(series)
    assert np.all((scored.scores >= 0.0) & (scored.scores <= 1.0))
    assert scored.scores[POINTS // 2] == scored.scores.max() > 0.5


def test_a_series_at_the_float_limit_leaves_its_neighbours_in_a_bank_untouched() -> None:
    # A bank keeps its series' states in adjacent rows (possibly different tenants'), so a
    # write past the end of one row would silently change the next series' baseline.
    extreme = _shapes()["alternating at ±1.7e308"]
    normal = np.random.default_rng(4).normal(50.0, 5.0, POINTS)
    ts = (np.arange(POINTS, dtype=np.int64) * 60 + 1_700_000_000) * 1_000_000_000
    bank = DetectorBank(3)
    alone = StreamingDetector()
    for i in range(POINTS):
        bank.update(np.arange(3), np.full(3, ts[i]), np.array([extreme[i], normal[i], normal[i]]))
    alone.score(ts, normal)
    np.testing.assert_array_equal(bank.states[1], alone.state)
    np.testing.assert_array_equal(bank.states[2], alone.state)


@pytest.mark.slow
def test_the_kernel_stays_inside_its_arrays_under_numba_bounds_checks(tmp_path: Path) -> None:
    # Recompiles the kernel with bounds checks (a fresh numba cache, in a subprocess so the
    # checked build cannot mix with this process's), then fuzzes it with extreme shapes.
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.detection._kernel_fuzz", "60"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = int(done.stdout.split("fuzzed ")[1].split(" runs")[0])
    assert runs >= 100  # the shapes reached the kernel rather than being rejected
