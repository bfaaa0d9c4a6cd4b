"""``aboutcloud demo``: the whole platform from one command, no services to install.

What it does, in order:

1. opens an embedded SQLite database: ``--database-url``, or else a fresh file
   ``aboutcloud-demo.db`` in a new temporary directory (printed; removed by nothing, so you
   can reopen it with ``aboutcloud serve --database-url sqlite:////that/path``);
2. simulates a multi-cluster fleet with labelled anomalies and backfills its last
   ``--backfill-hours`` (default a day of 1-minute points) through the ingestion pipeline;
3. runs detection so charts and rankings have data at once;
4. serves the API and dashboard on ``--host``/``--port`` and prints an admin API key;
5. streams the rest of the fleet in live (every ``--interval`` seconds, on a clock running
   ``--speed`` times real time) and re-runs detection every ``--detect-every`` seconds,
   until ``--duration`` seconds have passed (0 = until Ctrl-C).
"""

from __future__ import annotations

import tempfile
import threading
import time
import webbrowser
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.progress import Progress

from backend.analytics.configured_engine import configured_engine
from backend.analytics.engine import AnomalyDetectionEngine
from backend.analytics.types import MetricSeries, SeriesKey
from backend.api import ApiKeyService, ApiSettings, create_app
from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.runner import IncrementalDetector
from backend.errors import ValidationError
from backend.ingestion import IngestionPipeline, MetricValidator
from backend.simulator import FleetSpec, simulate_fleet
from backend.storage.factory import open_storage

__all__ = ["DEMO_TENANT", "demo", "register"]

DEMO_TENANT = "demo"
DEMO_METRICS = ("cpu_usage", "memory_used", "latency", "error_rate")
_NS_PER_MINUTE = 60_000_000_000
_INGEST_BATCH = 200
_HORIZON = timedelta(hours=6)  # node/cluster health reflects the last six simulated hours


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo")(demo)


@dataclass
class _Timeline:
    """The simulated fleet and how far of it has been sent."""

    series: list[MetricSeries]
    sent_until_ns: int


def demo(
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="Storage URL (default: a new SQLite file in a temp dir)."
        ),
    ] = None,
    duration: Annotated[
        float, typer.Option(min=0, help="Seconds to run after start-up; 0 runs until Ctrl-C.")
    ] = 0.0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open the dashboard in a browser.")
    ] = False,
    clusters: Annotated[int, typer.Option(min=1, max=20, help="Clusters in the fleet.")] = 3,
    nodes: Annotated[int, typer.Option(min=1, max=200, help="Nodes per cluster.")] = 5,
    backfill_hours: Annotated[
        float, typer.Option(min=1, max=24 * 14, help="History loaded before serving.")
    ] = 24.0,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between live batches.")] = 5.0,
    detect_every: Annotated[
        float, typer.Option(min=0.1, help="Seconds between detection runs.")
    ] = 30.0,
    speed: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Simulated seconds per real second.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 42,
) -> None:
    """Simulate a fleet, detect anomalies, serve the dashboard: all in one process."""
    console = Console()
    url = database_url or _temp_database_url()
    storage = open_storage(url)
    try:
        engine = configured_engine()
        pipeline = IngestionPipeline(None, MetricValidator(), storage)
        timeline = _simulate(clusters, nodes, backfill_hours, seed, _learning_hours(engine))
        _backfill(pipeline, timeline, console)
        detector = IncrementalDetector(storage, engine, horizon=_HORIZON)
        detector.run(DEMO_TENANT)
        key = ApiKeyService(storage).create(DEMO_TENANT, "admin", "demo").key
        settings = ApiSettings(database_url=url, access_log=False, dashboard_refresh_seconds=10)
        server, thread = _start_server(create_app(settings, storage, engine, pipeline), host, port)
        address = f"http://{host}:{port}/"
        console.print(f"Dashboard: {address}\nAPI docs:  {address}docs\nDatabase:  {url}",
                      highlight=False)  # fmt: skip
        console.print(f"API key (tenant {DEMO_TENANT!r}, admin): {key}", highlight=False,
                      soft_wrap=True)  # fmt: skip
        if not no_browser:
            webbrowser.open(address)
        try:
            _stream(pipeline, detector, timeline, duration, interval, detect_every, speed)
        except KeyboardInterrupt:
            console.print("stopping")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        stats = storage.get_stats()
        console.print(f"Stored {stats['total_metrics']} series, {stats.get('total_points', 0)} "
                      f"points, {stats['total_anomalies']} anomaly results.")  # fmt: skip
    finally:
        storage.close()


def _temp_database_url() -> str:
    directory = Path(tempfile.mkdtemp(prefix="aboutcloud-demo-"))
    return f"sqlite:///{directory / 'aboutcloud-demo.db'}"


def demo_fleet_spec(
    clusters: int, nodes: int, backfill_hours: float, seed: int, learning_hours: float, now_ns: int
) -> FleetSpec:
    """The demo fleet: one-minute points from ``backfill_hours`` before ``now_ns`` to a day
    after; its anomalies start once the engine has learnt (``learning_hours``), and not
    before a fifth of the timeline, so the dashboard shows them rather than a silent start."""
    backfill = int(backfill_hours * 60)
    total = backfill + 24 * 60
    return FleetSpec(
        tenants=1, clusters_per_tenant=clusters, nodes_per_cluster=nodes, metrics=DEMO_METRICS,
        num_points=total, freq="1min", anomaly_ratio=0.35, seed=seed,
        start_time=np.datetime64(now_ns - backfill * _NS_PER_MINUTE, "ns"),
        warmup_fraction=min(max(0.2, learning_hours * 60 / total), 0.8),
    )  # fmt: skip


def _learning_hours(engine: AnomalyDetectionEngine) -> float:
    """Hours of history before the engine may alarm on a new series (0: points only)."""
    return engine.params.warmup_hours if isinstance(engine, DefaultAnomalyEngine) else 0.0


def _simulate(
    clusters: int, nodes: int, backfill_hours: float, seed: int, learning_hours: float = 0.0
) -> _Timeline:
    """Backfill plus a day ahead (live part), starting ``backfill_hours`` before now."""
    now_ns = time.time_ns() // _NS_PER_MINUTE * _NS_PER_MINUTE
    spec = demo_fleet_spec(clusters, nodes, backfill_hours, seed, learning_hours, now_ns)
    fleet = simulate_fleet(spec)
    series = [_as_demo(s) for s in fleet.series]
    return _Timeline(series, now_ns)


def _as_demo(series: MetricSeries) -> MetricSeries:
    """The series under the demo tenant, with only JSON-friendly metadata."""
    key = SeriesKey(DEMO_TENANT, *series.key[1:])
    metadata = {k: v for k, v in series.metadata.items()
                if isinstance(v, str | int | float | bool)}  # fmt: skip
    return MetricSeries.from_arrays(key, series.timestamps_ns, series.values_array, metadata)


def _backfill(pipeline: IngestionPipeline, timeline: _Timeline, console: Console) -> None:
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Backfilling history", total=len(timeline.series))
        for start in range(0, len(timeline.series), _INGEST_BATCH):
            batch = timeline.series[start : start + _INGEST_BATCH]
            _ingest(pipeline, [_cut(s, None, timeline.sent_until_ns) for s in batch])
            progress.advance(task, len(batch))


def _cut(series: MetricSeries, after_ns: int | None, until_ns: int) -> MetricSeries:
    ts = series.timestamps_ns
    lo = 0 if after_ns is None else int(np.searchsorted(ts, after_ns, side="right"))
    return series.slice(lo, int(np.searchsorted(ts, until_ns, side="right")))


def _ingest(pipeline: IngestionPipeline, batch: list[MetricSeries]) -> int:
    non_empty = [s for s in batch if s.length]
    if not non_empty:
        return 0
    return pipeline.ingest_series(DEMO_TENANT, non_empty).accepted_points


def _start_server(app: FastAPI, host: str, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="aboutcloud-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ValidationError("port", port, "the server could not start (port in use?)")
        time.sleep(0.02)
    return server, thread


def _stream(
    pipeline: IngestionPipeline,
    detector: IncrementalDetector,
    timeline: _Timeline,
    duration: float,
    interval: float,
    detect_every: float,
    speed: float,
) -> None:
    """Send what the simulated clock has reached, detect now and then, until ``duration``."""
    started = time.monotonic()
    deadline = None if duration == 0 else started + duration
    origin_ns = timeline.sent_until_ns
    last_detection = started
    end_ns = int(timeline.series[0].timestamps_ns[-1]) if timeline.series else origin_ns
    while deadline is None or time.monotonic() < deadline:
        remaining = interval if deadline is None else deadline - time.monotonic()
        time.sleep(max(0.0, min(interval, remaining)))
        clock_ns = origin_ns + int((time.monotonic() - started) * speed * 1e9)
        until = min(clock_ns, end_ns)
        if until > timeline.sent_until_ns:
            _ingest(pipeline, [_cut(s, timeline.sent_until_ns, until) for s in timeline.series])
            timeline.sent_until_ns = until
        if time.monotonic() - last_detection >= detect_every:
            detector.run(DEMO_TENANT)
            last_detection = time.monotonic()
