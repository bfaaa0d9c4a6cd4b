"""``aboutcloud evaluate``: how good is an engine? NAB scores on a NAB-layout directory
and/or event metrics on a simulated, labelled fleet.

::

    aboutcloud evaluate /path/to/nab --engine default --json out.json --plot plots/
    aboutcloud evaluate /path/to/nab --per-file     # where the score is won and lost
    aboutcloud evaluate --simulated 1000 --seed 7    # 14 days of 5-minute points per series
    aboutcloud evaluate --simulated 1000 --seeds 1-10  # ten fleets, pooled: does a target hold?
    aboutcloud evaluate --simulated 1000 --sweep 0.3,0.4,0.5,0.6 --plot plots/  # trade-off
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.analytics.configured_engine import engine_settings
from backend.analytics.engine import AnomalyDetectionEngine, EngineRegistry
from backend.analytics.usual_range import scored_usual_range
from backend.cli.config_cmd import EngineNameOpt
from backend.detection.streaming.detector import ScoredSeries
from backend.errors import ValidationError
from backend.evaluation.corpus import load_corpus
from backend.evaluation.fleet import (
    FLEET_FREQ,
    FLEET_POINTS,
    FleetEvaluation,
    evaluate_fleet,
    evaluation_fleet_spec,
    sweep_fleet,
)
from backend.evaluation.fleets import parse_seeds, pool_fleets
from backend.evaluation.nab import NabEvaluation, evaluate_nab, series_of
from backend.evaluation.plotting import plot_fleet_tradeoff, plot_scored_series
from backend.evaluation.report import (
    fleet_metric_table,
    fleet_sweep_table,
    fleet_sweep_to_dict,
    fleet_table,
    fleet_to_dict,
    fleets_table,
    fleets_to_dict,
    nab_file_table,
    nab_table,
    nab_to_dict,
)
from backend.evaluation.scoring import engine_scores, engine_threshold

__all__ = ["evaluate", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to ``app``."""
    app.command("evaluate")(evaluate)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _run_nab(
    detector: AnomalyDetectionEngine, dataset_dir: Path, console: Console
) -> NabEvaluation:
    with _progress(console) as bar:
        task = bar.add_task("scoring NAB files", total=None)
        return evaluate_nab(
            detector, dataset_dir, lambda done, total: bar.update(task, completed=done, total=total)
        )


def _run_fleet(
    detector: AnomalyDetectionEngine,
    n_series: int,
    seed: int,
    anomaly_ratio: float,
    console: Console,
    num_points: int = FLEET_POINTS,
    freq: str = FLEET_FREQ,
    fleet_calibration: bool = True,
    sweep: tuple[float, ...] = (),
    live_points: int | None = None,
) -> tuple[FleetEvaluation, tuple[FleetEvaluation, ...]]:
    """The fleet at the engine's own threshold, and at every threshold of ``sweep`` too;
    with ``live_points``, scored in runs of that many points as a live deployment is."""
    from backend.simulator.fleet import simulate_fleet

    spec = evaluation_fleet_spec(n_series, seed, anomaly_ratio, num_points, freq)
    with _progress(console) as bar:
        task = bar.add_task(f"simulating fleet (seed {seed})", total=n_series)
        fleet = simulate_fleet(spec, lambda done, total: bar.update(task, completed=done))
        task = bar.add_task(f"detecting (seed {seed})", total=n_series)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if live_points is not None:
            from backend.evaluation.live import evaluate_fleet_live

            bar.update(task, description=f"detecting in runs of {live_points} (seed {seed})")
            return evaluate_fleet_live(detector, fleet, live_points, progress=progress), ()
        if not sweep:
            return evaluate_fleet(
                detector, fleet, progress=progress, fleet_calibration=fleet_calibration
            ), ()
        own = engine_threshold(detector)
        results = sweep_fleet(
            detector,
            fleet,
            (*sweep, own),
            progress=progress,
            fleet_calibration=fleet_calibration,
        )
        return next(r for r in results if r.threshold == own), results


def _thresholds(text: str | None) -> tuple[float, ...]:
    """``--sweep 0.3,0.4,0.5`` as numbers in [0, 1] (a clear error otherwise)."""
    if text is None:
        return ()
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        raise ValidationError(
            "--sweep", text, "must be comma-separated numbers, e.g. 0.3,0.4,0.5"
        ) from None
    if not values or any(not 0.0 <= v <= 1.0 for v in values):
        raise ValidationError("--sweep", text, "must list thresholds in [0, 1]")
    return values


def _band(scored: Any, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The forecast and the usual range around it (alarms and unmodelled points left out),
    if the engine forecasts in the plotted units (the default engine does, except for a
    counter, modelled as its rate; Merlion and the multivariate engine give scores only).
    The alarm band is not drawn: it can dwarf the values."""
    if not isinstance(scored, ScoredSeries) or scored.as_rate:
        return None
    low, high = scored_usual_range(
        scored.timestamps_ns, scored.modelled, scored.expected, scored.scores, threshold,
        scored.lower, scored.upper,
    )  # fmt: skip
    return scored.expected, low, high


def _plot_nab(detector: AnomalyDetectionEngine, dataset_dir: Path, plot_dir: Path) -> int:
    threshold = engine_threshold(detector)
    count = 0
    for item in load_corpus(dataset_dir):
        series = series_of(item)
        scorer = getattr(detector, "score_series", None)
        scored = scorer(series) if scorer is not None else None
        scores = scored.scores if scored is not None else engine_scores(detector, series)
        band = _band(scored, threshold)
        name = item.name.replace("/", "__").removesuffix(".csv")
        plot_scored_series(
            plot_dir / f"{name}.png",
            item.timestamps_ns,
            item.values,
            scores,
            threshold,
            item.windows,
            band,
            title=item.name,
        )
        count += 1
    return count


def evaluate(
    dataset_dir: Annotated[
        Path | None,
        typer.Argument(
            help="NAB-layout directory (data/, labels/combined_windows.json).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    engine: EngineNameOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results here.")] = None,
    plot_dir: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write one PNG per NAB file (scores, threshold, windows) here; with "
            "--sweep, also the fleet's recall against false alarms.",
        ),
    ] = None,
    simulated: Annotated[
        int,
        typer.Option("--simulated", min=0, help="Also evaluate on a simulated fleet of N series."),
    ] = 0,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the simulated fleet (default: 7).")
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds",
            help="Evaluate one fleet per seed (e.g. 1-10 or 1,4,9) and pool them: each "
            "fleet's figures, the pooled ones, and how many fleets meet each target.",
        ),
    ] = None,
    anomaly_ratio: Annotated[
        float,
        typer.Option(
            "--anomaly-ratio",
            min=0.0,
            max=1.0,
            help="Share of simulated series with an anomaly.",
        ),
    ] = 0.2,
    fleet_points: Annotated[
        int, typer.Option("--fleet-points", min=200, help="Points per simulated series.")
    ] = FLEET_POINTS,
    fleet_freq: Annotated[
        str, typer.Option("--fleet-freq", help="Sampling interval of the fleet, e.g. 5min.")
    ] = FLEET_FREQ,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Engine alarm threshold (default: its own).",
        ),
    ] = None,
    fleet_calibration: Annotated[
        bool,
        typer.Option(
            "--fleet-calibration/--no-fleet-calibration",
            help="Map the default engine's fleet scores per metric, as `aboutcloud detect` does.",
        ),
    ] = True,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            help="Also run the engine on the fleet at each of these thresholds "
            "(comma-separated, e.g. 0.3,0.4,0.5,0.6): recall against false alarms.",
        ),
    ] = None,
    live_points: Annotated[
        int | None,
        typer.Option(
            "--live-points",
            min=1,
            help="Score the simulated fleet as a live deployment does: its first half in "
            "one run, then a run every N points (slower; kinds are told from what each run "
            "has seen, then told again as later runs see more).",
        ),
    ] = None,
    per_file: Annotated[
        bool,
        typer.Option(
            "--per-file",
            help="Also print each NAB file's TP, FP, FN and raw score (standard profile).",
        ),
    ] = False,
) -> None:
    """Evaluate an engine: NAB scores (3 profiles) and event metrics, optionally a fleet."""
    if dataset_dir is None and simulated == 0:
        raise ValidationError("dataset_dir", None, "give a NAB directory and/or --simulated N")
    cuts = _thresholds(sweep)
    if cuts and not simulated:
        raise ValidationError("--sweep", sweep, "sweeps a simulated fleet: add --simulated N")
    if live_points is not None and not simulated:
        raise ValidationError(
            "--live-points", live_points, "replays a simulated fleet: add --simulated N"
        )
    if live_points is not None and cuts:
        raise ValidationError("--live-points", live_points, "cannot be combined with --sweep")
    many = parse_seeds(seeds) if seeds is not None else ()
    if many and not simulated:
        raise ValidationError("--seeds", seeds, "seeds simulated fleets: add --simulated N")
    if many and seed is not None:
        raise ValidationError("--seeds", seeds, "give either --seed or --seeds, not both")
    if many and cuts:
        raise ValidationError("--seeds", seeds, "--sweep runs one fleet: drop --seeds or --sweep")
    seed = 7 if seed is None else seed
    console = Console()
    overrides = {} if threshold is None else {"threshold": threshold}
    name, settings = engine_settings(engine, overrides)
    detector = EngineRegistry.get(name, settings)
    report: dict[str, Any] = {"engine": name, "engine_config": settings}
    if dataset_dir is not None:
        nab = _run_nab(detector, dataset_dir, console)
        console.print(nab_table(nab))
        if per_file:
            console.print(nab_file_table(nab))
        report["nab"] = nab_to_dict(nab)
        if plot_dir is not None:
            count = _plot_nab(detector, dataset_dir, plot_dir)
            console.print(f"{count} plots written to {plot_dir}")
    if simulated and many:
        pooled = pool_fleets(
            many,
            [
                _run_fleet(
                    detector,
                    simulated,
                    each,
                    anomaly_ratio,
                    console,
                    fleet_points,
                    fleet_freq,
                    fleet_calibration,
                    live_points=live_points,
                )[0]
                for each in many
            ],
        )
        console.print(fleets_table(pooled))
        console.print(fleet_table(pooled.pooled))
        console.print(fleet_metric_table(pooled.pooled))
        report["fleets"] = fleets_to_dict(pooled) | {"fleet_calibration": fleet_calibration}
    elif simulated:
        fleet, swept = _run_fleet(
            detector,
            simulated,
            seed,
            anomaly_ratio,
            console,
            fleet_points,
            fleet_freq,
            fleet_calibration,
            cuts,
            live_points,
        )
        console.print(fleet_table(fleet))
        console.print(fleet_metric_table(fleet))
        report["fleet"] = fleet_to_dict(fleet) | {
            "fleet_calibration": fleet_calibration,
            "live_points": live_points,
        }
        if swept:
            console.print(fleet_sweep_table(swept, fleet.threshold))
            report["fleet_sweep"] = fleet_sweep_to_dict(swept)
            if plot_dir is not None:
                path = plot_fleet_tradeoff(
                    plot_dir / "fleet_tradeoff.png",
                    swept,
                    fleet.threshold,
                    title=f"{fleet.engine}: {fleet.series:,} simulated series, seed {seed}",
                )
                console.print(f"trade-off plot written to {path}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2, default=str))
        console.print(f"results written to {json_out}")
