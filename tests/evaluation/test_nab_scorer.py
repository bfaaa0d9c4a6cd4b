"""The scorer reproduces NAB's own reference table on the 17 AWS files (±0.05)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.errors import ValidationError
from backend.evaluation.corpus import load_corpus
from backend.evaluation.nab_scorer import (
    PROFILES,
    file_scores,
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


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_file_scores_sum_to_the_corpus_score(corpus, profile) -> None:
    """HTM's reference scores, at its optimum and at a lower threshold that admits many FPs."""
    scores, windows = _htm(corpus), [item.windows for item in corpus]
    names = [item.name for item in corpus]
    for threshold in (optimise_threshold(scores, windows, profile).threshold, 0.3):
        total = score_at_threshold(scores, windows, profile, threshold)
        files = file_scores(scores, windows, names, profile, threshold)
        assert [f.name for f in files] == names
        assert sum(f.raw for f in files) == pytest.approx(total.raw, abs=1e-9)
        assert sum(f.true_positives for f in files) == total.true_positives
        assert sum(f.false_positives for f in files) == total.false_positives
        assert sum(f.false_negatives for f in files) == total.false_negatives
        assert sum(f.windows for f in files) == sum(len(w) for w in windows)


def test_file_score_counts_the_earliest_detection_once() -> None:
    scores = np.zeros(1000)
    scores[[695, 700, 705, 900]] = 0.9  # three in the window, one far after it
    (row,) = file_scores([scores], [[(690, 720)]], ["f"], PROFILES[0], 0.5)
    worth_695 = float(scaled_sigmoid(np.array(-(720 - 695 + 1) / 31))) / float(
        scaled_sigmoid(np.array(-1.0))
    )
    assert (row.true_positives, row.false_positives, row.false_negatives) == (1, 1, 0)
    assert row.raw == pytest.approx(worth_695 - 0.11, abs=1e-3)
    (missed,) = file_scores([scores], [[(690, 720)]], ["f"], PROFILES[0], 0.95)
    assert (missed.true_positives, missed.false_negatives, missed.raw) == (0, 1, -1.0)


def test_file_scores_need_a_name_per_file() -> None:
    with pytest.raises(ValidationError, match="names"):
        file_scores([np.zeros(10)], [[]], [], PROFILES[0], 0.5)
