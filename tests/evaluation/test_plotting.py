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


def test_the_value_panel_fits_the_values_not_the_band(tmp_path, monkeypatch) -> None:
    from backend.evaluation import plotting

    seen: list[tuple[float, float]] = []
    save = plotting._save

    def keep_limits(plt, fig, path):  # the figure as written
        seen.append(fig.axes[0].get_ylim())
        return save(plt, fig, path)

    monkeypatch.setattr(plotting, "_save", keep_limits)
    ts = np.arange(100, dtype=np.int64) * 60 * 10**9
    values = 50 + np.sin(np.arange(100) / 5.0)
    band = (values, values - 1e6, values + 1e6)  # a band far wider than the values
    plot_scored_series(tmp_path / "x.png", ts, values, values / 100, 0.4, [], band)
    [(low, high)] = seen
    assert 48.5 < low < 49.0 and 51.0 < high < 51.5
