"""The simulate benchmark runs end to end on a small fleet and prints its figures."""

from __future__ import annotations

import pytest

from benchmarks.simulate import main


def test_benchmark_simulate_small_run_prints_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--n-series", "16", "--n-points", "60", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "16 series x 60 points" in out
    assert "wall time" in out and "peak traced memory" in out
