"""Rank aggregated scores worst first and explain, in one sentence, why one ranks where it does.

The order is total and deterministic: higher score first, then more anomalous results, then
tenant, cluster and node id alphabetically, so two runs over the same data agree on "top N".
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.analytics.types import AggregatedAnomalyScore, ScoreContribution
from backend.errors import ValidationError

__all__ = ["describe_contributors", "explain_rank", "rank_scores", "score_label"]

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth")  # fmt: skip


def _rank_key(score: AggregatedAnomalyScore) -> tuple[float, int, str, str, str]:
    return (
        -score.aggregate_score,
        -score.num_anomalies_detected,
        score.tenant_id,
        score.cluster_id or "",
        score.node_id or "",
    )


def rank_scores(
    scores: Iterable[AggregatedAnomalyScore], top_n: int | None = None
) -> list[AggregatedAnomalyScore]:
    """``scores`` worst first, cut to ``top_n`` (None keeps all).

    >>> a = AggregatedAnomalyScore("t", 0.4, "c", "n1", num_anomalies_detected=1)
    >>> b = AggregatedAnomalyScore("t", 0.9, "c", "n2")
    >>> c = AggregatedAnomalyScore("t", 0.4, "c", "n3", num_anomalies_detected=2)
    >>> [s.node_id for s in rank_scores([a, b, c])]
    ['n2', 'n3', 'n1']
    """
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise ValidationError("top_n", top_n, "must be a positive integer or None")
    ranked = sorted(scores, key=_rank_key)
    return ranked if top_n is None else ranked[:top_n]


def score_label(score: AggregatedAnomalyScore) -> str:
    """What the score is about: ``node n1``, ``cluster c1`` or ``tenant t1``."""
    if score.node_id is not None:
        return f"node {score.node_id}"
    if score.cluster_id is not None:
        return f"cluster {score.cluster_id}"
    return f"tenant {score.tenant_id}"


def describe_contributors(contributors: Iterable[ScoreContribution], top: int = 3) -> str:
    """``cpu_usage 0.93 (62 %), latency 0.55 (38 %)``: the leading components and shares.

    Components with a zero share but a positive score (e.g. the runner-up under MAX) are
    listed after the others, so the reader still sees what else was elevated; components
    that scored 0 are left out.

    >>> describe_contributors([ScoreContribution("cpu_usage", 0.93, share=0.62),
    ...                        ScoreContribution("latency", 0.55, share=0.38)])
    'cpu_usage 0.93 (62 %), latency 0.55 (38 %)'
    """
    ordered = sorted(contributors, key=lambda c: (-c.share, -c.score, c.component))
    shown = [c for c in ordered if c.share > 0 or c.score > 0][:top]
    return ", ".join(f"{c.component} {c.score:.2f} ({c.share * 100:.0f} %)" for c in shown)


def explain_rank(score: AggregatedAnomalyScore, rank: int = 1, top: int = 3) -> str:
    """One sentence saying where ``score`` ranks and which components drove it.

    >>> s = AggregatedAnomalyScore("t", 0.93, "c1", "node-7", contributors=(
    ...     ScoreContribution("cpu_usage", 0.93, share=0.62),
    ...     ScoreContribution("latency", 0.55, share=0.38)))
    >>> explain_rank(s)
    'node node-7 ranks first with 0.93 (max): cpu_usage 0.93 (62 %), latency 0.55 (38 %)'
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValidationError("rank", rank, "must be a positive integer")
    place = _ORDINALS[rank - 1] if rank <= len(_ORDINALS) else f"#{rank}"
    head = (
        f"{score_label(score)} ranks {place} with {score.aggregate_score:.2f} "
        f"({score.aggregation_strategy})"
    )
    drivers = describe_contributors(score.contributors, top)
    return f"{head}: {drivers}" if drivers else f"{head}: no component scored above 0"
