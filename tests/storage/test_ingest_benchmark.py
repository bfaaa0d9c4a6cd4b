"""The ingest benchmark runs end to end at a tiny size and prints every section."""

from __future__ import annotations

import pytest

from benchmarks import ingest


def test_ingest_benchmark_tiny_run_prints_all_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert ingest.main(["--series", "3", "--points", "2000", "--reads", "5"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "(a) validate + store",
        "(b) the database's own",
        "(c) read one",
        "(d) re-ingest",
        "(e) streaming",
    ):
        assert heading in out
    assert "6,000  (unchanged)" in out
    assert "DUPLICATED" not in out


def test_ingest_benchmark_series_cover_several_days() -> None:
    series = ingest.make_series(2, 3000)
    assert series[0].length == 3000
    assert series[1].values_array.min() >= 0 and series[1].values_array.max() <= 100
    spans_days = (series[0].timestamps_ns[-1] - series[0].timestamps_ns[0]) / 86_400e9
    assert spans_days > 2
