"""``python -m benchmarks pipeline`` in a small run, on both database backends."""

from __future__ import annotations

import pytest

from benchmarks.pipeline import main

pytestmark = pytest.mark.postgres


def test_pipeline_benchmark_small_run_prints_both_backends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--nodes", "2", "--days", "0.25", "--ticks", "2", "--postgres"]) == 0
    out = capsys.readouterr().out
    assert "16 series x 360 minutes of history, 2 ticks" in out
    for backend in ("sqlite (embedded): 16 series", "postgresql: 16 series"):
        assert backend in out
    assert out.count("tick (median)") == 2 and out.count("series/s") == 2
    assert out.count("backfill run") == 2 and out.count("tick 2/2") == 2
