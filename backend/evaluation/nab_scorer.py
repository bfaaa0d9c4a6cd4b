"""The NAB scoring rules, written from their published description.

A detector's per-point scores become detections at a threshold. Inside a labelled window only
the earliest detection counts (worth more the earlier it is); a window without one costs
``a_fn``; a detection outside every window costs up to ``a_fp``, less when it falls just after a
window. One threshold per detector and profile is chosen to maximise the raw score summed over
all files, which is why detectors must produce scores that are comparable across series.

Everything is vectorised: a file is "swept" once into the value a detection would have at each
point, then every candidate threshold is scored in one pass over the points sorted by score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.errors import ValidationError

__all__ = [
    "PROFILES",
    "CostProfile",
    "FileScore",
    "SweptSeries",
    "ThresholdScore",
    "file_scores",
    "optimise_threshold",
    "probation_length",
    "scaled_sigmoid",
    "score_at_threshold",
    "sweep",
]

PROBATION_FRACTION = 0.15
PROBATION_CAP_POINTS = 5000


@dataclass(frozen=True)
class CostProfile:
    """Weights of a true positive, a false positive and a missed window."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES: tuple[CostProfile, ...] = (
    CostProfile("standard", 1.0, 0.11, 1.0),
    CostProfile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    CostProfile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)


def probation_length(n_points: int) -> int:
    """Points at the start of a file that are never scored.

    >>> probation_length(4032), probation_length(10_000)
    (604, 750)
    """
    return int(
        min(math.floor(PROBATION_FRACTION * n_points), PROBATION_FRACTION * PROBATION_CAP_POINTS)
    )


def scaled_sigmoid(y: np.ndarray) -> np.ndarray:
    """NAB's position weight 2/(1+e^{5y}) − 1, pinned to −1 beyond y = 3.

    >>> [round(float(v), 4) for v in scaled_sigmoid(np.array([-1.0, 0.0, 4.0]))]
    [0.9866, 0.0, -1.0]
    """
    y = np.asarray(y, dtype=np.float64)
    out = 2.0 / (1.0 + np.exp(np.minimum(5.0 * y, 700.0))) - 1.0
    return np.where(y > 3.0, -1.0, out)


@dataclass(frozen=True, eq=False)
class SweptSeries:
    """What a detection at each scorable point of one file would be worth.

    ``weights[j]`` is the value (TP share or FP cost, already weighted) of a detection at
    scorable point ``j``; ``window_ids[j]`` is the corpus-wide window index or −1 outside.
    """

    scores: np.ndarray
    weights: np.ndarray
    window_ids: np.ndarray
    n_windows: int


def _point_values(
    n: int, windows: Sequence[tuple[int, int]], profile: CostProfile
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n, dtype=np.float64)
    weights = np.full(n, -profile.a_fp)
    window_of = np.full(n, -1, dtype=np.int64)
    max_tp = float(scaled_sigmoid(np.array(-1.0)))
    for k, (start, end) in enumerate(sorted(windows)):
        width = float(end - start + 1)
        inside = slice(start, end + 1)
        position = -(end - idx[inside] + 1.0) / width
        weights[inside] = scaled_sigmoid(position) * profile.a_tp / max_tp
        window_of[inside] = k
        following = sorted(windows)[k + 1][0] if k + 1 < len(windows) else n
        after = slice(end + 1, following)
        denominator = max(width - 1.0, 1.0)
        weights[after] = scaled_sigmoid(np.abs(idx[after] - end) / denominator) * profile.a_fp
    return weights, window_of


def sweep(
    scores: np.ndarray,
    windows: Sequence[tuple[int, int]],
    profile: CostProfile,
    window_offset: int = 0,
) -> SweptSeries:
    """Sweep one file: drop probationary points, value every remaining point."""
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    weights, window_of = _point_values(n, windows, profile)
    keep = slice(probation_length(n), n)
    ids = window_of[keep]
    scored_windows = np.unique(ids[ids >= 0])
    remap = np.full(len(windows) + 1, -1, dtype=np.int64)
    remap[scored_windows] = np.arange(scored_windows.size) + window_offset
    return SweptSeries(
        scores[keep], weights[keep], np.where(ids >= 0, remap[ids], -1), int(scored_windows.size)
    )


@dataclass(frozen=True)
class ThresholdScore:
    """Corpus score of one profile at one threshold."""

    profile: str
    threshold: float
    raw: float
    normalized: float
    true_positives: int
    false_positives: int
    false_negatives: int


def _sweep_corpus(
    scores: Sequence[np.ndarray], windows: Sequence[Sequence[tuple[int, int]]], profile: CostProfile
) -> list[SweptSeries]:
    if len(scores) != len(windows):
        raise ValidationError(
            "scores", len(scores), f"expected one array per file ({len(windows)})"
        )
    swept, offset = [], 0
    for file_scores, file_windows in zip(scores, windows, strict=True):
        part = sweep(file_scores, file_windows, profile, offset)
        offset += part.n_windows
        swept.append(part)
    return swept


def _curve(
    swept: list[SweptSeries], profile: CostProfile
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Raw score after admitting each point (sorted by score, descending)."""
    scores = np.concatenate([s.scores for s in swept])
    weights = np.concatenate([s.weights for s in swept])
    ids = np.concatenate([s.window_ids for s in swept])
    n_windows = sum(s.n_windows for s in swept)
    order = np.argsort(-scores, kind="stable")
    scores, weights, ids = scores[order], weights[order], ids[order]
    delta = np.where(ids < 0, weights, 0.0)
    in_win = np.flatnonzero(ids >= 0)
    if in_win.size:
        # Per window, the best (earliest) detection so far: a grouped running maximum.
        group_order = in_win[np.argsort(ids[in_win], kind="stable")]
        g_ids = ids[group_order]
        shifted = weights[group_order] + 4.0 * g_ids
        running = np.maximum.accumulate(shifted) - 4.0 * g_ids
        first = np.r_[True, g_ids[1:] != g_ids[:-1]]
        previous = np.where(first, -profile.a_fn, np.r_[0.0, running[:-1]])
        delta[group_order] = running - previous
    totals = -profile.a_fn * n_windows + np.cumsum(delta)
    is_fp = (ids < 0).astype(np.int64)
    return scores, totals, np.cumsum(is_fp), ids, n_windows


def _normalise(raw: float, n_windows: int, profile: CostProfile) -> float:
    null, perfect = -profile.a_fn * n_windows, profile.a_tp * n_windows
    return 100.0 * (raw - null) / (perfect - null) if perfect > null else 0.0


def _at(
    scores: np.ndarray,
    totals: np.ndarray,
    fps: np.ndarray,
    ids: np.ndarray,
    n_windows: int,
    threshold: float,
    profile: CostProfile,
) -> ThresholdScore:
    admitted = int(np.searchsorted(-scores, -threshold, side="right"))
    raw = float(totals[admitted - 1]) if admitted else -profile.a_fn * n_windows
    n_fp = int(fps[admitted - 1]) if admitted else 0
    tp = int(np.unique(ids[:admitted][ids[:admitted] >= 0]).size)
    return ThresholdScore(
        profile.name,
        float(threshold),
        raw,
        _normalise(raw, n_windows, profile),
        tp,
        n_fp,
        n_windows - tp,
    )


def optimise_threshold(
    scores: Sequence[np.ndarray], windows: Sequence[Sequence[tuple[int, int]]], profile: CostProfile
) -> ThresholdScore:
    """The threshold maximising the summed raw score over all files (NAB's sweep).

    >>> s = [np.r_[np.zeros(700), 0.9, np.zeros(299)]]
    >>> best = optimise_threshold(s, [[(690, 720)]], PROFILES[0])
    >>> best.threshold, best.true_positives, round(best.normalized, 1)
    (0.9, 1, 97.4)
    """
    swept = _sweep_corpus(scores, windows, profile)
    ordered, totals, fps, ids, n_windows = _curve(swept, profile)
    if ordered.size == 0:
        return ThresholdScore(profile.name, 1.1, 0.0, 0.0, 0, 0, n_windows)
    last_of_value = np.r_[ordered[1:] != ordered[:-1], True]
    candidates = np.flatnonzero(last_of_value)
    null = -profile.a_fn * n_windows
    best = int(candidates[np.argmax(totals[candidates])])
    if totals[best] <= null:
        return _at(ordered, totals, fps, ids, n_windows, math.inf, profile)
    return _at(ordered, totals, fps, ids, n_windows, float(ordered[best]), profile)


def score_at_threshold(
    scores: Sequence[np.ndarray],
    windows: Sequence[Sequence[tuple[int, int]]],
    profile: CostProfile,
    threshold: float,
) -> ThresholdScore:
    """Corpus score of ``profile`` when every point with score ≥ ``threshold`` is a detection."""
    swept = _sweep_corpus(scores, windows, profile)
    ordered, totals, fps, ids, n_windows = _curve(swept, profile)
    return _at(ordered, totals, fps, ids, n_windows, threshold, profile)


@dataclass(frozen=True)
class FileScore:
    """One file's share of a corpus score at one threshold: where a detector gains and loses."""

    name: str
    windows: int
    raw: float
    true_positives: int
    false_positives: int
    false_negatives: int


def _file_score(name: str, part: SweptSeries, threshold: float, profile: CostProfile) -> FileScore:
    detected = part.scores >= threshold
    outside = detected & (part.window_ids < 0)
    inside = detected & (part.window_ids >= 0)
    found, slot = np.unique(part.window_ids[inside], return_inverse=True)
    best = np.full(found.size, -np.inf)
    np.maximum.at(best, slot, part.weights[inside])  # per window, its earliest detection
    missed = part.n_windows - int(best.size)
    raw = float(part.weights[outside].sum() + best.sum()) - profile.a_fn * missed
    return FileScore(name, part.n_windows, raw, int(best.size), int(outside.sum()), missed)


def file_scores(
    scores: Sequence[np.ndarray],
    windows: Sequence[Sequence[tuple[int, int]]],
    names: Sequence[str],
    profile: CostProfile,
    threshold: float,
) -> tuple[FileScore, ...]:
    """Each file's raw score and counts at ``threshold``; they sum to the corpus score there.

    >>> s = [np.r_[np.zeros(700), 0.9, np.zeros(299)], np.r_[np.zeros(800), 0.9, np.zeros(199)]]
    >>> a, b = file_scores(s, [[(690, 720)], []], ["a", "b"], PROFILES[0], 0.5)
    >>> (a.true_positives, a.false_positives, round(a.raw, 3)), (b.false_positives, b.raw)
    ((1, 0, 0.947), (1, -0.11))
    """
    if len(names) != len(scores):
        raise ValidationError("names", len(names), f"expected one name per file ({len(scores)})")
    swept = _sweep_corpus(scores, windows, profile)
    return tuple(
        _file_score(name, part, threshold, profile) for name, part in zip(names, swept, strict=True)
    )
