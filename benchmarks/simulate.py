"""Benchmark: simulate a fleet (1,000 series × 1,440 points with anomalies by default).

Prints the wall time of :func:`backend.simulator.fleet.simulate_fleet` (best of ``--repeat``),
of building the long-format table, the peak memory the simulation allocates (tracemalloc,
measured in a separate run because tracing slows allocation) and the process's peak RSS.
Target: simulation within 2 s. Run with ``python -m benchmarks simulate [options]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

from backend.simulator.fleet import FleetSpec, SimulatedFleet, simulate_fleet

TARGET_SECONDS = 2.0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.simulate", description=__doc__)
    parser.add_argument("--n-series", type=int, default=1000)
    parser.add_argument("--n-points", type=int, default=1440)
    parser.add_argument("--anomaly-ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args(argv)


def _timed(spec: FleetSpec) -> tuple[float, SimulatedFleet]:
    started = time.perf_counter()
    fleet = simulate_fleet(spec)
    return time.perf_counter() - started, fleet


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the simulation misses the 2 s target."""
    args = _parse(argv)
    spec = FleetSpec.for_series_count(
        args.n_series, num_points=args.n_points, anomaly_ratio=args.anomaly_ratio, seed=args.seed
    )
    runs = [_timed(spec) for _ in range(max(1, args.repeat))]
    best, fleet = min(runs, key=lambda run: run[0])
    started = time.perf_counter()
    rows = len(fleet.to_frame())
    frame_seconds = time.perf_counter() - started
    tracemalloc.start()
    simulate_fleet(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"simulate: {len(fleet.series)} series x {args.n_points} points = {fleet.n_points:,} "
        f"points, {len(fleet.labels)} anomalies {fleet.anomaly_counts()}"
    )
    print(
        f"simulate_fleet wall time: {best:.3f} s (best of {len(runs)}; target <= "
        f"{TARGET_SECONDS:.1f} s)"
    )
    print(f"long table ({rows:,} rows) wall time: {frame_seconds:.3f} s")
    print(
        f"peak traced memory during simulation: {peak / 2**20:.1f} MiB; "
        f"process peak RSS: {rss_mib:.1f} MiB"
    )
    return 0 if best <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
