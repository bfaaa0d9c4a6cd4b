"""The scorer reproduces NAB's own reference table on the 17 AWS files (±0.05)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.evaluation.corpus import load_corpus
from backend.evaluation.nab_scorer import (
    PROFILES,
    optimise_threshold,
    probation_length,
    scaled_sigmoid,
    score_at_threshold,
)
from tests.evaluation._nab import nab_dir

HTM = {"standard": 73.42, "reward_low_FP_rate": 68.75, "reward_low_FN_rate": 76.72}
ZSCORE = {"standard": 35.95, "reward_low_FP_rate": 22.85, "reward_low_FN_rate": 46.19}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(nab_dir())


def _htm(corpus) -> list[np.ndarray]:
    out = []
    for item in corpus:
        group, name = item.name.split("/")
        path = nab_dir() / "reference" / "numenta" / group / f"numenta_{name}"
        out.append(pd.read_csv(path)["anomaly_score"].to_numpy())
    return out


def _rolling_z(values: np.ndarray, window: int = 288) -> np.ndarray:
    """Trailing-window z-score of each point against the ``window`` points before it."""
    base = pd.Series(values).shift(1).rolling(window, min_periods=2)
    dev = (pd.Series(values) - base.mean()).abs().to_numpy()
    sd = base.std().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = dev / sd
        score = np.where(np.isinf(z), 1.0, z / (z + 3.0))
    return np.nan_to_num(score, nan=0.0)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_scorer_reproduces_htm_reference(corpus, profile) -> None:
    best = optimise_threshold(_htm(corpus), [c.windows for c in corpus], profile)
    assert best.normalized == pytest.approx(HTM[profile.name], abs=0.05)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_scorer_reproduces_rolling_zscore_reference(corpus, profile) -> None:
    scores = [_rolling_z(c.values) for c in corpus]
    best = optimise_threshold(scores, [c.windows for c in corpus], profile)
    assert best.normalized == pytest.approx(ZSCORE[profile.name], abs=0.05)


def test_scorer_null_detector_scores_zero(corpus) -> None:
    zeros = [np.zeros(c.length) for c in corpus]
    for profile in PROFILES:
        assert score_at_threshold(zeros, [c.windows for c in corpus], profile, 0.5).normalized == 0


def test_scorer_perfect_detector_scores_hundred() -> None:
    scores = np.zeros(2000)
    scores[[1000, 1500]] = 1.0
    best = optimise_threshold([scores], [[(1000, 1100), (1500, 1600)]], PROFILES[0])
    assert best.normalized == pytest.approx(100.0, abs=0.01) and best.false_positives == 0


def test_scorer_false_positive_far_from_window_costs_a_fp() -> None:
    scores = np.zeros(2000)
    scores[[1000, 1900]] = 1.0
    hit = score_at_threshold([scores], [[(1000, 1010)]], PROFILES[0], 0.5)
    assert hit.raw == pytest.approx(1.0 - 0.11, abs=1e-9) and hit.false_positives == 1


def test_probation_and_sigmoid_values() -> None:
    assert probation_length(4032) == 604 and probation_length(100_000) == 750
    assert scaled_sigmoid(np.array([3.5]))[0] == -1.0
