"""``aboutcloud detect-file INPUT.csv -o OUTPUT.csv``: score a ``timestamp,value`` file (NAB
format) and write the same rows plus ``anomaly_score`` (online, in [0, 1]), ``is_anomaly`` and
``anomaly_label``.

The score of each row uses only the rows before it, so the output is what live detection
would have said at the time. ``anomaly_label`` is the label of the anomalous window holding
the row (spike | trend | seasonal) or ``normal``. The file's series is named by ``--metric``
(else the file's stem), so the configuration's threshold and static limit for that metric
apply as they would in ``aboutcloud detect``; ``--tenant`` applies that tenant's overrides;
``--explain`` adds the text of the anomaly each row belongs to (values in ``--unit``);
``--band`` adds the forecast and the usual range around it, for plotting.

Engines that judge windows rather than points (``merlion``, ``multivariate``) label a whole
window by its verdict, so there a row's label can differ from its own ``is_anomaly``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.config import DetectionConfig, get_config
from backend.analytics.configured_engine import engine_settings
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.explain import ExplanationClassifier
from backend.analytics.limits import MetricLimit, apply_limit, limit_point_scores
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.analytics.usual_range import scored_usual_range
from backend.cli.config_cmd import EngineNameOpt
from backend.detection.streaming.detector import ScoredSeries
from backend.evaluation.corpus import read_series_csv
from backend.evaluation.scoring import engine_threshold, window_scores

__all__ = ["FileRule", "detect_file", "file_rule", "register", "score_file"]


def register(app: typer.Typer) -> None:
    """Add the ``detect-file`` command to ``app``."""
    app.command("detect-file")(detect_file)


@dataclass(frozen=True)
class FileRule:
    """What a file's series is judged by: its alarm threshold and, if any, its static limit
    with the score a breach gets."""

    threshold: float
    limit: MetricLimit | None = None
    breach_score: float = 1.0


def file_rule(
    config: DetectionConfig,
    metric_name: str,
    *,
    calibrated: bool,
    tenant: str | None = None,
    threshold: float | None = None,
) -> FileRule:
    """The rule ``aboutcloud detect`` would use for ``metric_name`` (of ``tenant``):
    ``threshold`` when given, else the metric's configured one, and the metric's limit."""
    scoped = config if tenant is None else config.for_tenant(tenant)
    if threshold is None:
        threshold = scoped.get_threshold_for_metric(metric_name, calibrated=calibrated)
    breach = scoped.breach_rule(metric_name, calibrated=calibrated)
    if breach is None:
        return FileRule(threshold)
    return FileRule(threshold, breach[0], breach[1])


def _rows(series: MetricSeries, result: AnomalyResult) -> slice:
    """The rows of ``series`` inside ``result``'s window."""
    ts = series.timestamps_ns
    lo = int(np.searchsorted(ts, to_epoch_ns(result.window_start), "left"))
    hi = int(np.searchsorted(ts, to_epoch_ns(result.window_end), "right"))
    return slice(lo, hi)


def _labels(series: MetricSeries, results: list[AnomalyResult]) -> np.ndarray:
    labels = np.full(series.length, "normal", dtype=object)
    for result in results:
        if result.is_anomaly:
            labels[_rows(series, result)] = result.anomaly_label
    return labels


def _explanations(series: MetricSeries, results: list[AnomalyResult]) -> np.ndarray:
    """Each row's anomaly text (as ``detect`` stores it), empty outside anomalies."""
    texts = np.full(series.length, "", dtype=object)
    classifier = ExplanationClassifier()
    for result in results:
        if result.is_anomaly:
            text = result.explanation or classifier.classify(series, result).description
            texts[_rows(series, result)] = text
    return texts


def score_file(
    engine: AnomalyDetectionEngine,
    input_path: Path,
    *,
    key: SeriesKey | None = None,
    rule: FileRule | None = None,
    unit: str | None = None,
    explain: bool = False,
    band: bool = False,
) -> pd.DataFrame:
    """The input rows with ``anomaly_score``, ``is_anomaly`` and ``anomaly_label`` added
    (and ``explanation`` when ``explain``).

    ``key`` names the series (default: the file's stem as node and metric); ``rule`` is the
    threshold and limit to judge it by (default: the engine's own threshold, no limit);
    ``unit`` (``percent``, ``ms``, ``bytes``, …) is shown with the values in explanations;
    ``band`` adds ``expected``, ``usual_lower`` and ``usual_upper`` (engines that forecast).
    """
    frame = pd.read_csv(input_path)
    ts_ns, values = read_series_csv(input_path)
    stem = input_path.stem or "series"
    key = key or SeriesKey("file", "local", stem, stem)
    series = MetricSeries.from_arrays(key, ts_ns, values, {"unit": unit} if unit else None)
    rule = rule or FileRule(engine_threshold(engine))
    scorer = getattr(engine, "score_series", None)
    to_results = getattr(engine, "results_from_scores", None)
    scored = None
    if scorer is not None and to_results is not None:  # score once, window the same scores
        scored = scorer(series)
        scores = np.asarray(scored.scores, dtype=np.float64)
        results = to_results(series, scored)
    else:
        results = engine.detect_at(series, rule.threshold)
        scores = window_scores(series, results)
    if rule.limit is not None:
        scores = limit_point_scores(series, scores, rule.limit, rule.breach_score)
        results = apply_limit(series, results, rule.limit, rule.breach_score)
    frame.attrs["learning_rows"] = _learning_rows(engine, series, scored)
    frame["anomaly_score"] = np.round(scores, 6)
    frame["is_anomaly"] = scores >= rule.threshold
    frame["anomaly_label"] = _labels(series, results)
    if band:
        frame = frame.join(_band_columns(series, scored, scores, rule.threshold))
    if explain:
        frame["explanation"] = _explanations(series, results)
    return frame


def _learning_rows(
    engine: AnomalyDetectionEngine, series: MetricSeries, scored: ScoredSeries | None
) -> int:
    """Rows before the engine first hears the series (its warm-up and learning period),
    counted past the file's end at its sampling step when it never does."""
    learning_ends = getattr(engine, "learning_ends_ns", None)
    if learning_ends is None or not isinstance(scored, ScoredSeries):
        return 0
    until = learning_ends(series, scored)
    ts = series.timestamps_ns
    if until is None or ts.size == 0:
        return 0
    if until <= ts[-1]:
        return int(np.searchsorted(ts, until))
    step = float(np.median(np.diff(ts))) if ts.size > 1 else 60e9
    return round(float(until - ts[0]) / step)


def _band_columns(
    series: MetricSeries, scored: object, scores: np.ndarray, threshold: float
) -> pd.DataFrame:
    """The forecast and the usual range around it (in the units the engine modelled: a
    counter's rate), empty where the engine gives no forecast (only the default engine's
    :class:`ScoredSeries` has one)."""
    names = ("expected", "usual_lower", "usual_upper")
    columns = {name: np.full(series.length, np.nan) for name in names}
    if isinstance(scored, ScoredSeries):
        low, high = scored_usual_range(
            scored.timestamps_ns, scored.modelled, scored.expected, scores, threshold,
            scored.lower, scored.upper,
        )  # fmt: skip
        columns = {"expected": scored.expected, "usual_lower": low, "usual_upper": high}
    return pd.DataFrame({name: np.round(values, 6) for name, values in columns.items()})


def detect_file(
    input_path: Annotated[
        Path, typer.Argument(help="CSV with timestamp,value columns.", exists=True, dir_okay=False)
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV to write.")],
    engine: EngineNameOpt = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Score at or above which a row is anomalous (default: the metric's"
            " configured threshold).",
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="The metric the file holds (e.g. cpu_usage): its configured threshold and"
            " limit apply, and a name ending in _total is a counter. Default: the file's stem.",
        ),
    ] = None,
    node: Annotated[
        str | None,
        typer.Option("--node", help="The node named in explanations. Default: the file's stem."),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Apply this tenant's configured overrides."),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="The values' unit (percent, ms, bytes, …) for explanations."),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Add an explanation column (the anomaly's text)."),
    ] = False,
    band: Annotated[
        bool,
        typer.Option(
            "--band", help="Add expected, usual_lower and usual_upper columns (for plotting)."
        ),
    ] = False,
) -> None:
    """Score every row of INPUT (online) and write it with anomaly columns to OUTPUT."""
    config = get_config()
    stem = input_path.stem or "series"
    key = SeriesKey(tenant or "file", "local", node or stem, metric or stem)
    name, settings = engine_settings(engine, config=config)
    calibrated = EngineRegistry.get(name, settings).calibrated_per_series
    rule = file_rule(
        config, key.metric_name, calibrated=calibrated, tenant=tenant, threshold=threshold
    )
    detector = EngineRegistry.get(name, {**settings, "threshold": rule.threshold})
    frame = score_file(
        detector, input_path, key=key, rule=rule, unit=unit, explain=explain, band=band
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    limit = "" if rule.limit is None else f", limit {rule.limit.describe()}"
    learning = int(frame.attrs.get("learning_rows", 0))
    learnt = (
        f" The first {learning:,} rows are the engine's warm-up and learning period (scored"
        " 0; docs/detection.md, 'Cold start')."
        if learning
        else ""
    )
    if learning >= len(frame) > 0:
        learnt = (
            " Every row is in the engine's warm-up and learning period (scored 0): at this"
            f" sampling it may alarm from row {learning + 1:,}."
        )
    Console(stderr=True).print(
        f"{len(frame):,} rows scored with {name} at threshold {rule.threshold:g}{limit};"
        f" {int(frame['is_anomaly'].sum()):,} anomalous → {output}.{learnt}",
        highlight=False,
    )
