from __future__ import annotations

import numpy as np

from backend.evaluation.plotting import plot_scored_series


def test_plot_scored_series_writes_png(tmp_path) -> None:
    ts = np.arange(100, dtype=np.int64) * 60 * 10**9
    values = np.sin(np.arange(100) / 5.0)
    scores = np.abs(values) / 2
    band = (values, values - 0.1, values + 0.1)
    out = plot_scored_series(tmp_path / "p" / "x.png", ts, values, scores, 0.4, [(10, 20)], band)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
