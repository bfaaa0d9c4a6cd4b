"""``aboutcloud simulate``: write a simulated fleet with labelled anomalies to disk.

``--n-series`` is spread as evenly as possible: every node carries each of ``--metrics``
(by default the node metrics cpu_usage, memory_used, disk_io, network_in, network_out and the
service metrics latency, error_rate, throughput), nodes are dealt round-robin to the
``--tenants`` × ``--clusters`` clusters, and the last node may carry fewer metrics so the
total is exactly ``--n-series``. For example 1,000 series over 1 tenant and 2 clusters make
125 nodes (63 and 62 per cluster) with 8 metrics each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.errors import ValidationError
from backend.simulator._seeding import fresh_entropy
from backend.simulator.export import ExportFormat, ExportResult, write_fleet
from backend.simulator.fleet import DEFAULT_METRICS, DEFAULT_START, FleetSpec, simulate_fleet

__all__ = ["register", "simulate"]

_OPTION_OF_FIELD = {
    "n_series": "--n-series", "num_points": "--n-points", "anomaly_ratio": "--anomaly-ratio",
    "freq": "--freq", "seed": "--seed", "tenants": "--tenants",
    "clusters_per_tenant": "--clusters", "metrics": "--metrics", "start_time": "--start",
    "output_dir": "--output-dir", "format": "--format",
}  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""
    app.command("simulate")(simulate)


def simulate(
    n_series: Annotated[int, typer.Option("--n-series", min=1, help="Number of series.")] = 100,
    n_points: Annotated[int, typer.Option("--n-points", min=1, help="Points per series.")] = 1440,
    anomaly_ratio: Annotated[
        float,
        typer.Option(
            "--anomaly-ratio", min=0.0, max=1.0, help="Share of series given one anomaly."
        ),
    ] = 0.1,
    freq: Annotated[
        str, typer.Option("--freq", help="Sampling interval: 60s, 1min, 5min, 1h.")
    ] = "1min",
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Root seed (random when omitted; printed).")
    ] = None,
    format: Annotated[
        ExportFormat, typer.Option("--format", case_sensitive=False, help="Files to write.")
    ] = ExportFormat.CSV,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Directory to write into.")
    ] = Path("simulated"),
    tenants: Annotated[int, typer.Option("--tenants", min=1, help="Number of tenants.")] = 1,
    clusters: Annotated[int, typer.Option("--clusters", min=1, help="Clusters per tenant.")] = 1,
    metrics: Annotated[
        str, typer.Option("--metrics", help="Comma-separated metric names.")
    ] = ",".join(DEFAULT_METRICS),
    start: Annotated[
        str, typer.Option("--start", help="First timestamp (ISO, UTC) or 'now'.")
    ] = DEFAULT_START.isoformat(),
) -> None:
    """Simulate a fleet of metric series with labelled anomalies and write it to disk.

    Every node carries each of --metrics; nodes are dealt round-robin to the
    --tenants x --clusters clusters and the last node may carry fewer metrics, so exactly
    --n-series series are written (metrics.csv / metrics.parquet, plus labels.csv).
    """
    console = Console()
    chosen_seed = seed if seed is not None else fresh_entropy()
    spec = _spec(
        n_series, n_points, anomaly_ratio, freq, chosen_seed, tenants, clusters, metrics, start
    )
    with _progress(console) as progress:
        task = progress.add_task("simulating", total=spec.total_series)
        fleet = simulate_fleet(spec, lambda done, _: progress.update(task, completed=done))
        files = 1 + (2 if format is ExportFormat.BOTH else 1)
        writing = progress.add_task("writing", total=files)
        try:
            result = write_fleet(fleet, output_dir, format, lambda _: progress.advance(writing))
        except ValidationError as exc:
            raise _bad_option(exc) from None
    _summary(console, result, chosen_seed, seed is None)


def _spec(
    n_series: int,
    n_points: int,
    anomaly_ratio: float,
    freq: str,
    seed: int,
    tenants: int,
    clusters: int,
    metrics: str,
    start: str,
) -> FleetSpec:
    names = tuple(name.strip() for name in metrics.split(",") if name.strip())
    start_time = None if start.strip().lower() == "now" else start
    try:
        return FleetSpec.for_series_count(
            n_series,
            tenants=tenants,
            clusters_per_tenant=clusters,
            metrics=names,
            num_points=n_points,
            freq=freq,
            anomaly_ratio=anomaly_ratio,
            seed=seed,
            start_time=start_time,
        )
    except ValidationError as exc:
        raise _bad_option(exc) from None


def _bad_option(exc: ValidationError) -> typer.BadParameter:
    option = _OPTION_OF_FIELD.get(exc.field, exc.field)
    return typer.BadParameter(f"{exc.value!r}: {exc.reason}", param_hint=f"'{option}'")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _summary(console: Console, result: ExportResult, seed: int, drawn: bool) -> None:
    console.print(f"seed: {seed}" + (" (drawn at random; pass --seed to repeat)" if drawn else ""))
    for path in result.files:
        console.print(f"wrote {path} ({path.stat().st_size:,} bytes)", highlight=False)
    console.print(f"series: {result.series:,}  rows: {result.rows:,}")
    kinds = ", ".join(f"{kind} {count}" for kind, count in result.anomalies_by_kind.items())
    total = sum(result.anomalies_by_kind.values())
    console.print(f"anomalies: {total}" + (f" ({kinds})" if kinds else ""))
