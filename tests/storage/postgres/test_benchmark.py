from __future__ import annotations

import pytest

from benchmarks.postgres import copy_payload, main, make_series

pytestmark = pytest.mark.postgres


def test_copy_payload_is_binary_copy_of_every_point() -> None:
    series = make_series("t", 3, 7, 0)
    payload = copy_payload(series)
    assert payload.startswith(b"PGCOPY\n\xff\r\n\x00") and payload.endswith(b"\xff\xff")
    assert len(payload) == 19 + 21 * 34 + 2


def test_benchmark_small_run_prints_both_backends(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--series", "4", "--points", "300", "--repeat", "1", "--runs", "2"]
    assert main([*argv, "--anomaly-series", "200"]) == 0
    out = capsys.readouterr().out
    assert "PostgreSQL" in out and "embedded SQLite" in out
    assert "raw psycopg binary COPY" in out and "targets" in out
