"""HTTP API benchmark: one uvicorn server process, a load generator in this process.

Measures, against ``aboutcloud``'s real app on 127.0.0.1:

(a) ingestion over HTTP: ``POST /metrics`` batches of SERIES x POINTS, parsed, validated by
    the shared pipeline and stored (target: >= 250,000 points/s);
(b) read latency of ``GET /health``, ``GET /anomalies`` and ``GET /nodes/top`` with NODES x
    METRICS series of a day of 1-minute data stored, plus anomaly results and aggregated
    scores (target: p99 <= 50 ms each);
(c) the dashboard overview's load time in headless Chromium (target: <= 1 s).

The server prepares its data directly through the storage interface (fast), then serves.
Usage: ``python -m benchmarks api [--nodes 1000] [--metrics 10] [--points 1440]
[--requests 300] [--ingest-requests 20] [--batch-series 100] [--database-url URL]
[--score-cache-seconds 2] [--no-browser] [--check]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson

TARGET_POINTS_PER_S = 250_000
TARGET_P99_MS = 50.0
TARGET_PAGE_LOAD_S = 1.0
TENANT = "bench"
START = datetime(2024, 1, 1)
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--serve``, be its server process)."""
    args = _parser().parse_args(argv)
    if args.serve:
        return _serve(args)
    return _run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks api", description=__doc__)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--points", type=int, default=1440, help="stored points per series")
    parser.add_argument("--requests", type=int, default=300, help="per read endpoint")
    parser.add_argument("--ingest-requests", type=int, default=20)
    parser.add_argument("--batch-series", type=int, default=100)
    parser.add_argument("--batch-points", type=int, default=1440)
    parser.add_argument("--page-loads", type=int, default=5)
    parser.add_argument(
        "--database-url",
        default=None,
        help="storage URL (default: a temporary SQLite file, the embedded "
        "default backend; memory:// for the in-memory reference)",
    )
    parser.add_argument(
        "--score-cache-seconds",
        type=float,
        default=2.0,
        help="the API's aggregated-score cache TTL (0: every request reads storage)",
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the page-load timing")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--key-file", default="", help=argparse.SUPPRESS)
    return parser


# --- the server process ---------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.analytics.engine import EngineRegistry
    from backend.api import ApiKeyService, ApiSettings, create_app
    from backend.storage.factory import open_storage

    storage = open_storage(args.database_url)
    started = time.perf_counter()
    _prepare(storage, args)
    key = ApiKeyService(storage).create(TENANT, "admin", "benchmark").key
    print(f"prepared data in {time.perf_counter() - started:.1f} s", flush=True)
    settings = ApiSettings(rate_limit_enabled=False, access_log=False, max_body_bytes=256 << 20,
                           max_points_per_request=5_000_000,
                           score_cache_seconds=args.score_cache_seconds)  # fmt: skip
    app = create_app(settings, storage, EngineRegistry.get("default"))
    Path(args.key_file).write_text(key)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


def _prepare(storage: object, args: argparse.Namespace) -> None:
    """NODES x METRICS day-long series, ~2 anomaly results per series, their roll-ups."""
    from backend.analytics.aggregation import AggregationPipeline
    from backend.analytics.types import AnomalyResult, MetricSeries, SeriesKey

    rng = np.random.default_rng(1)
    ts = (np.datetime64(START, "ns") + np.arange(args.points) * np.timedelta64(60, "s")).astype(
        np.int64
    )
    keys = [SeriesKey(TENANT, f"cluster-{n % args.clusters:02d}", f"node-{n:04d}", f"metric_{m}")
            for n in range(args.nodes) for m in range(args.metrics)]  # fmt: skip
    for lo in range(0, len(keys), 1000):
        chunk = keys[lo : lo + 1000]
        values = 50 + 10 * rng.standard_normal((len(chunk), args.points))
        storage.store_metrics(  # type: ignore[attr-defined]
            [MetricSeries.from_arrays(k, ts, v) for k, v in zip(chunk, values, strict=True)]
        )
    results = []
    for key in keys:
        for _ in range(2):
            start = START + timedelta(minutes=int(rng.integers(0, max(1, args.points - 10))))
            score = float(rng.uniform(0.0, 1.0))
            label = "spike" if score >= 0.5 else "normal"
            results.append(AnomalyResult(*key, start, start + timedelta(minutes=5), score, label,
                                         explanation=f"{label} in {key.metric_name}"))  # fmt: skip
    storage.store_anomaly_results(TENANT, results)  # type: ignore[attr-defined]
    scores = AggregationPipeline().run(results, timestamp=START + timedelta(days=1)).all_scores()
    storage.store_aggregated_scores(scores)  # type: ignore[attr-defined]


# --- the load generator ---------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        key_file = Path(tmp) / "key"
        log = Path(tmp) / "server.log"
        command = [sys.executable, "-m", "benchmarks.api", "--serve", "--port", str(port),
                   "--key-file", str(key_file), "--database-url", database_url,
                   "--nodes", str(args.nodes), "--metrics", str(args.metrics),
                   "--clusters", str(args.clusters), "--points", str(args.points),
                   "--score-cache-seconds", str(args.score_cache_seconds)]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        output = log.open("wb")
        with (
            output,
            subprocess.Popen(
                command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT
            ) as server,
        ):
            try:
                base = f"http://127.0.0.1:{port}"
                key = _wait_ready(base, key_file, server, log)
                print(log.read_text().strip())
                figures = _measure(base, key, args)
            finally:
                server.terminate()
                server.wait(timeout=30)
    return _report(figures, args)


def _measure(base: str, key: str, args: argparse.Namespace) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    figures: dict[str, float] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for name, path, params in (
            ("health", "/health", {}),
            ("anomalies", "/anomalies", {"limit": 100}),
            ("nodes_top", "/nodes/top", {"n": 10}),
        ):
            p50, p99 = _latency(client, path, params, args.requests)
            figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = p50, p99
        figures["ingest_points_per_s"] = _ingest_rate(client, args)
    if not args.no_browser:
        figures["page_load_s"] = _page_load(base, key, args.page_loads)
    return figures


def _latency(client: httpx.Client, path: str, params: dict, n: int) -> tuple[float, float]:
    for _ in range(5):
        client.get(path, params=params).raise_for_status()  # warm-up
    times = []
    for _ in range(n):
        began = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def _ingest_rate(client: httpx.Client, args: argparse.Namespace) -> float:
    """Fresh series every request (new points, not replays), bodies pre-encoded."""
    rng = np.random.default_rng(2)
    t0 = int(START.timestamp()) + 2 * 86_400
    stamps = (t0 + 60 * np.arange(args.batch_points)).tolist()
    bodies = []
    for r in range(args.ingest_requests):
        series = [{"cluster_id": "ingest", "node_id": f"n-{r:03d}-{s:04d}",
                   "metric_name": "latency", "timestamps": stamps,
                   "values": np.round(100 + 5 * rng.standard_normal(args.batch_points), 3)}
                  for s in range(args.batch_series)]  # fmt: skip
        bodies.append(orjson.dumps({"series": series}, option=orjson.OPT_SERIALIZE_NUMPY))
    client.post("/metrics", content=bodies[0]).raise_for_status()  # warm-up (also counted out)
    accepted = 0
    began = time.perf_counter()
    for body in bodies[1:]:
        response = client.post("/metrics", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
        response.raise_for_status()
        accepted += response.json()["accepted_points"]
    elapsed = time.perf_counter() - began
    mb = sum(len(b) for b in bodies[1:]) / 1e6
    print(f"ingest: {accepted:,} points in {elapsed:.2f} s ({mb:.0f} MB of JSON)")
    return accepted / elapsed


def _page_load(base: str, key: str, loads: int) -> float:
    """Median time from navigation start to the ranked nodes being on screen."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(loads):
            context = browser.new_context()
            context.add_init_script(f"sessionStorage.setItem('aboutcloud.apiKey', {key!r})")
            page = context.new_page()
            page.goto(base + "/")
            page.wait_for_selector("#nodes-table tbody tr.node-row", timeout=30_000)
            timings.append(page.evaluate("performance.now()") / 1000)
            breakdown = page.evaluate(_BREAKDOWN_JS)
            context.close()
        browser.close()
    print("page loads (s): " + ", ".join(f"{t:.3f}" for t in timings))
    print("last load, ms from navigation start: " + breakdown)
    return statistics.median(timings)


_BREAKDOWN_JS = """
(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const parts = [`html ${nav.responseEnd.toFixed(0)}`];
  for (const r of performance.getEntriesByType("resource")) {
    const name = r.name.replace(location.origin, "").split("?")[0];
    parts.push(`${name} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)}`);
  }
  return parts.join(", ");
})()
"""


def _report(figures: dict[str, float], args: argparse.Namespace) -> int:
    print(f"stored: {args.nodes} nodes x {args.metrics} metrics x {args.points} points")
    checks = [("ingest_points_per_s", TARGET_POINTS_PER_S, True)]
    checks += [(f"{n}_p99_ms", TARGET_P99_MS, False) for n in ("health", "anomalies", "nodes_top")]
    if "page_load_s" in figures:
        checks.append(("page_load_s", TARGET_PAGE_LOAD_S, False))
    failed = False
    for name, value in figures.items():
        target = next(((t, higher) for n, t, higher in checks if n == name), None)
        verdict = ""
        if target is not None:
            ok = value >= target[0] if target[1] else value <= target[0]
            failed |= not ok
            verdict = f"  target {'>=' if target[1] else '<='} {target[0]:g}: " + (
                "ok" if ok else "MISSED"
            )
        print(f"{name:>22}: {value:,.3f}{verdict}")
    return 1 if failed and args.check else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, key_file: Path, server: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        if key_file.exists():
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                return key_file.read_text()
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise RuntimeError("server did not become ready")


if __name__ == "__main__":
    sys.exit(main())
