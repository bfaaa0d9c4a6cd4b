"""Evaluation results as rich tables (for the terminal) and plain dicts (for JSON files)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.table import Table

from backend.evaluation.fleet import FleetEvaluation
from backend.evaluation.fleets import PooledFleets
from backend.evaluation.nab import NabEvaluation

__all__ = [
    "fleet_metric_table",
    "fleet_sweep_table",
    "fleet_sweep_to_dict",
    "fleet_table",
    "fleet_to_dict",
    "fleets_table",
    "fleets_to_dict",
    "nab_file_table",
    "nab_table",
    "nab_to_dict",
]


def nab_table(result: NabEvaluation) -> Table:
    """NAB scores per profile, optimised and at the engine's threshold, and event metrics."""
    table = Table(
        title=f"NAB — {result.engine} on {result.dataset} "
        f"({result.files} files, {result.windows} windows)"
    )
    for column in (
        "profile",
        "score (optimised)",
        "threshold",
        "TP",
        "FP",
        "FN",
        f"score @ {result.threshold:g}",
    ):
        table.add_column(column, justify="right" if column != "profile" else "left")
    for best, fixed in zip(result.optimised, result.at_threshold, strict=True):
        table.add_row(
            best.profile,
            f"{best.normalized:.2f}",
            f"{best.threshold:.4f}",
            str(best.true_positives),
            str(best.false_positives),
            str(best.false_negatives),
            f"{fixed.normalized:.2f}",
        )
    e = result.events
    table.caption = (
        f"events @ {e.threshold:g}: precision {e.precision:.3f}, recall "
        f"{e.recall:.3f}, F1 {e.f1:.3f}, mean delay {e.mean_delay_points:.1f} points"
        f" ({e.mean_delay_seconds / 60:.1f} min); {result.points:,} points scored "
        f"in {result.seconds:.2f} s"
    )
    return table


def nab_file_table(result: NabEvaluation) -> Table:
    """Where the standard profile's score is won and lost, file by file (worst first)."""
    best = result.optimised[0]
    table = Table(
        title=f"NAB per file — {best.profile} profile at its optimised threshold "
        f"{best.threshold:.4f}"
    )
    table.add_column("file", overflow="fold")  # names are long: wrap, never cut
    for column in ("windows", "TP", "FP", "FN", "raw score"):
        table.add_column(column, justify="right")
    for row in sorted(result.per_file, key=lambda f: f.raw):
        table.add_row(
            row.name,
            str(row.windows),
            str(row.true_positives),
            str(row.false_positives),
            str(row.false_negatives),
            f"{row.raw:+.2f}",
        )
    table.caption = f"raw scores sum to {sum(f.raw for f in result.per_file):.2f}"
    return table


def nab_to_dict(result: NabEvaluation) -> dict[str, Any]:
    """JSON-ready form of a NAB evaluation."""
    out = asdict(result)
    out["optimised"] = {s.profile: asdict(s) for s in result.optimised}
    out["at_threshold"] = {s.profile: asdict(s) for s in result.at_threshold}
    return out


def fleet_table(result: FleetEvaluation) -> Table:
    """Recall and kind accuracy per anomaly kind, with the overall figures as caption."""
    table = Table(
        title=f"Simulated fleet — {result.engine} ({result.series:,} series, "
        f"{result.points:,} points)"
    )
    for column in ("kind", "events", "detected", "recall", "kind right", "confused with"):
        table.add_column(column, justify="left" if column in ("kind", "confused with") else "right")
    for kind, stats in result.per_kind.items():
        confused = ", ".join(f"{k}×{n}" for k, n in sorted(stats.confused_with.items()))
        table.add_row(
            kind,
            str(stats.events),
            str(stats.detected),
            f"{stats.recall:.3f}",
            f"{stats.kind_right}/{stats.detected}",
            confused,
        )
    table.caption = (
        f"recall {result.recall:.3f}, precision {result.precision:.3f}, F1 "
        f"{result.f1:.3f}, false alarms {result.false_alarms} "
        f"({result.false_alarms_per_10k:.2f} per 10k normal points), kind accuracy "
        f"{result.kind_accuracy:.3f}, mean delay {result.mean_delay_seconds:.0f} s,"
        f" {result.seconds:.1f} s"
    )
    return table


def fleet_metric_table(result: FleetEvaluation) -> Table:
    """Recall and false alarms per metric: is one threshold equally strict on every metric?"""
    table = Table(title=f"Per metric — {result.engine}")
    columns = ("metric", "series", "events", "detected", "recall", "false alarms", "per 10k")
    for column in columns:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric, stats in result.per_metric.items():
        table.add_row(
            metric,
            str(stats.series),
            str(stats.events),
            str(stats.detected),
            f"{stats.recall:.3f}",
            str(stats.false_alarms),
            f"{stats.false_alarms_per_10k:.2f}",
        )
    table.caption = (
        f"false-alarm rate, highest metric over lowest: {result.false_alarm_spread:.1f}×"
    )
    return table


def fleet_to_dict(result: FleetEvaluation) -> dict[str, Any]:
    """JSON-ready form of a fleet evaluation (with the derived rates)."""
    out = asdict(result)
    for name in (
        "recall",
        "precision",
        "f1",
        "false_alarms_per_10k",
        "kind_accuracy",
        "false_alarm_spread",
    ):
        out[name] = getattr(result, name)
    for metric, stats in result.per_metric.items():
        out["per_metric"][metric]["recall"] = stats.recall
        out["per_metric"][metric]["false_alarms_per_10k"] = stats.false_alarms_per_10k
    return out


def fleet_sweep_table(results: Sequence[FleetEvaluation], default: float | None = None) -> Table:
    """Recall against false alarms at each threshold of a sweep (``default`` is marked)."""
    name = results[0].engine if results else ""
    table = Table(title=f"Threshold sweep — {name}")
    columns = ("threshold", "recall", "detected", "false alarms", "per 10k", "precision", "kind")
    for column in columns:
        table.add_column(column, justify="right")
    for result in results:
        mark = "*" if default is not None and result.threshold == default else ""
        table.add_row(
            f"{result.threshold:.3f}{mark}",
            f"{result.recall:.3f}",
            f"{result.detected}/{result.events}",
            str(result.false_alarms),
            f"{result.false_alarms_per_10k:.2f}",
            f"{result.precision:.3f}",
            f"{result.kind_accuracy:.3f}",
        )
    table.caption = (
        "each row: the engine run with that threshold; * its own threshold"
        if default is not None
        else "each row: the engine run with that threshold"
    )
    return table


def fleet_sweep_to_dict(results: Sequence[FleetEvaluation]) -> list[dict[str, Any]]:
    """JSON-ready rows of a threshold sweep: the headline figures per threshold."""
    return [
        {
            "threshold": r.threshold,
            "recall": r.recall,
            "detected": r.detected,
            "events": r.events,
            "false_alarms": r.false_alarms,
            "false_alarms_per_10k": r.false_alarms_per_10k,
            "precision": r.precision,
            "kind_accuracy": r.kind_accuracy,
        }
        for r in results
    ]


_TARGET_NAMES = {
    "recall": "recall",
    "false_alarms_per_10k": "false alarms",
    "kind_accuracy": "kind",
}


def fleets_table(result: PooledFleets) -> Table:
    """One row per fleet (seed) and a pooled row: does each target hold on fleets never
    tuned on, and on all of them together?"""
    t = result.targets
    table = Table(
        title=f"Simulated fleets — {result.pooled.engine} ({len(result.fleets)} seeds, "
        f"{result.pooled.series:,} series)"
    )
    for column in ("seed", "recall", "found", "false alarms", "per 10k", "kind", "misses"):
        table.add_column(column, justify="left" if column == "misses" else "right")

    def row(name: str, fleet: FleetEvaluation) -> list[str]:
        missed = [_TARGET_NAMES[k] for k, met in t.met(fleet).items() if not met]
        return [
            name,
            f"{fleet.recall:.3f}",
            f"{fleet.detected}/{fleet.events}",
            str(fleet.false_alarms),
            f"{fleet.false_alarms_per_10k:.2f}",
            f"{fleet.kind_accuracy:.3f}",
            ", ".join(missed) or "—",
        ]

    for seed, fleet in zip(result.seeds, result.fleets, strict=True):
        table.add_row(*row(str(seed), fleet))
    table.add_section()
    table.add_row(*row("pooled", result.pooled))
    low, high = result.recall_interval
    count = len(result.fleets)
    table.caption = (
        f"targets: recall ≥ {t.recall:g}, ≤ {t.false_alarms_per_10k:g} false alarm per 10k "
        f"normal points, kind ≥ {t.kind_accuracy:g}. Pooled recall {result.pooled.recall:.3f} "
        f"(95 % interval {low:.3f}–{high:.3f}). Fleets meeting each: "
        + ", ".join(
            f"{label} {result.fleets_meeting(name)}/{count}"
            for name, label in _TARGET_NAMES.items()
        )
    )
    return table


def fleets_to_dict(result: PooledFleets) -> dict[str, Any]:
    """JSON-ready form of several fleets: each seed's headline figures and the pooled
    evaluation in full."""
    low, high = result.recall_interval
    per_seed = fleet_sweep_to_dict(result.fleets)
    for seed, fleet, entry in zip(result.seeds, result.fleets, per_seed, strict=True):
        entry["seed"] = seed
        entry["meets"] = result.targets.met(fleet)
    return {
        "seeds": list(result.seeds),
        "targets": asdict(result.targets),
        "per_seed": per_seed,
        "pooled": fleet_to_dict(result.pooled) | {"meets": result.targets.met(result.pooled)},
        "pooled_recall_interval": [low, high],
        "fleets_meeting": {name: result.fleets_meeting(name) for name in asdict(result.targets)},
    }
