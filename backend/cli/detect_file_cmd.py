"""``aboutcloud detect-file INPUT.csv -o OUTPUT.csv``: score a ``timestamp,value`` file (NAB
format) and write the same rows plus ``anomaly_score`` (online, in [0, 1]), ``is_anomaly`` and
``anomaly_label``.

The score of each row uses only the rows before it, so the output is what live detection
would have said at the time. ``anomaly_label`` is the label of the anomalous window holding
the row (spike | trend | seasonal) or ``normal``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from backend.analytics._timeconv import to_epoch_ns
from backend.analytics.configured_engine import engine_settings
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey
from backend.cli.config_cmd import EngineNameOpt
from backend.evaluation.corpus import read_series_csv
from backend.evaluation.scoring import engine_threshold, window_scores

__all__ = ["detect_file", "register", "score_file"]


def register(app: typer.Typer) -> None:
    """Add the ``detect-file`` command to ``app``."""
    app.command("detect-file")(detect_file)


def _labels(series: MetricSeries, results: list[AnomalyResult]) -> np.ndarray:
    labels = np.full(series.length, "normal", dtype=object)
    ts = series.timestamps_ns
    for result in results:
        if result.is_anomaly:
            lo = int(np.searchsorted(ts, to_epoch_ns(result.window_start), "left"))
            hi = int(np.searchsorted(ts, to_epoch_ns(result.window_end), "right"))
            labels[lo:hi] = result.anomaly_label
    return labels


def score_file(engine: AnomalyDetectionEngine, input_path: Path) -> pd.DataFrame:
    """The input rows with ``anomaly_score``, ``is_anomaly`` and ``anomaly_label`` added."""
    frame = pd.read_csv(input_path)
    ts_ns, values = read_series_csv(input_path)
    key = SeriesKey("file", "local", "file", input_path.stem or "series")
    series = MetricSeries.from_arrays(key, ts_ns, values)
    scorer = getattr(engine, "score_series", None)
    if scorer is not None:
        scored = scorer(series)
        scores = np.asarray(scored.scores, dtype=np.float64)
        results = engine.results_from_scores(series, scored)  # type: ignore[attr-defined]
    else:
        results = engine.detect(series)
        scores = window_scores(series, results)
    threshold = engine_threshold(engine)
    frame["anomaly_score"] = np.round(scores, 6)
    frame["is_anomaly"] = scores >= threshold
    frame["anomaly_label"] = _labels(series, results)
    return frame


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
            help="Score at or above which a row is anomalous.",
        ),
    ] = None,
) -> None:
    """Score every row of INPUT (online) and write it with anomaly columns to OUTPUT."""
    config = {} if threshold is None else {"threshold": threshold}
    name, settings = engine_settings(engine, config)
    detector = EngineRegistry.get(name, settings)
    frame = score_file(detector, input_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    Console(stderr=True).print(
        f"{len(frame):,} rows scored with {name}; {int(frame['is_anomaly'].sum()):,} anomalous"
        f" → {output}",
        highlight=False,
    )
