"""The dashboard in real headless Chromium: sign in, ranked nodes, a chart with anomalies.

Uses the system Chromium (``/usr/bin/chromium``) through Playwright; no browser download.
Saves screenshots to ``artifacts/`` as test artefacts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.errors = []  # type: ignore[attr-defined]
    opened.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
    opened.on("pageerror", lambda e: opened.errors.append(str(e)))
    yield opened
    context.close()


def _sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url)
    page.fill("#api-key", key)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#nodes-table tbody tr.node-row", timeout=15_000)


def _open_chart(page: Page, dashboard: Any, key: Any, metric: str) -> None:
    """Sign in, then open ``metric``'s chart on ``key``'s node and wait until it is drawn."""
    _sign_in(page, dashboard.url, dashboard.key)
    page.goto(f"{dashboard.url}/#/cluster/{key.cluster_id}/node/{key.node_id}/metric/{metric}")
    page.wait_for_selector("#chart[data-anomaly-count]", timeout=15_000)


def test_dashboard_sign_in_ranks_nodes_and_charts_anomaly(page: Page, live_dashboard: Any) -> None:
    _sign_in(page, live_dashboard.url, live_dashboard.key)
    assert page.text_content("#tenant") == f"Tenant {live_dashboard.tenant}"
    scores = [float(t) for t in page.locator("#nodes-table tbody tr.node-row td:nth-child(4)")
              .all_text_contents()]  # fmt: skip
    assert scores and scores == sorted(scores, reverse=True)
    assert page.locator("#clusters-table tbody tr.cluster-row").count() == 2
    assert page.locator("#anomalies-table tbody tr.anomaly-row").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

    page.locator("#anomalies-table tbody tr.anomaly-row td:nth-child(4) a").first.click()
    page.wait_for_selector("#chart[data-anomaly-count]", timeout=15_000)
    markers = page.evaluate(
        "document.getElementById('chart').data.find(t => t.name === 'anomalies').x.length"
    )
    assert markers >= 1
    lower, upper, values = page.evaluate(
        """(() => { const d = document.getElementById('chart').data;
          const y = (name) => d.find(t => t.name === name).y;
          return [y('usual range'), y('usual upper'), d.find(t => t.line && t.line.color ===
            '#212529').y]; })()"""
    )
    drawn = [(lo, hi, v) for lo, hi, v in zip(lower, upper, values, strict=True) if lo is not None]
    assert len(drawn) > len(values) // 2
    inside = sum(lo <= v <= hi for lo, hi, v in drawn) / len(drawn)
    assert inside > 0.9  # the band is where the points usually are ...
    spread = max(values) - min(values)
    widths = sorted(hi - lo for lo, hi, _ in drawn)
    assert widths[len(widths) // 2] < spread  # ... and not the whole chart
    assert page.locator("#crumbs a").count() == 3
    legend = page.text_content("#chart-legend") or ""
    assert "usual range" in legend and "Circles: anomalies" in legend
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_dashboard_drill_down_cluster_node_metric(page: Page, live_dashboard: Any) -> None:
    _sign_in(page, live_dashboard.url, live_dashboard.key)
    page.locator("#clusters-table tbody tr.cluster-row a").first.click()
    page.wait_for_selector("h1:has-text('Cluster')")
    page.locator("#nodes-table tbody tr.node-row td:nth-child(3) a").first.click()
    page.wait_for_selector("#metrics-table tbody tr.metric-row")
    assert page.locator("#metrics-table tbody tr.metric-row").count() == 2
    page.locator("#metrics-table tbody tr.metric-row a").first.click()
    page.wait_for_selector("#chart .main-svg", timeout=15_000)
    assert "/metric/" in page.url
    assert page.errors == []  # type: ignore[attr-defined]


def test_dashboard_chart_draws_the_static_limit_and_its_breach(
    page: Page, live_dashboard: Any
) -> None:
    _open_chart(page, live_dashboard, live_dashboard.breached, "latency")
    levels = page.evaluate(
        "document.getElementById('chart').layout.shapes"
        ".filter(s => s.name === 'limit').map(s => s.y0)"
    )
    assert levels == [pytest.approx(live_dashboard.limit)]
    label = page.evaluate(
        "document.getElementById('chart').layout.shapes.find(s => s.name === 'limit').label.text"
    )
    assert label == f"limit {float(f'{live_dashboard.limit:.4g}'):g}"
    assert page.locator("#chart text", has_text="limit ").count() >= 1  # drawn, not only set
    top = page.evaluate(
        "Math.max(...document.getElementById('chart').data.find(t => t.name === 'anomaly score').y)"
    )
    assert top >= 0.8  # a breach scores the critical threshold
    legend = page.text_content("#chart-legend") or ""
    assert "Dashed: the metric's static limit." in legend
    assert "counter" not in legend  # latency is a gauge, drawn in its own values
    page.screenshot(path=str(ARTIFACTS / "dashboard-limit.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_dashboard_chart_shades_a_young_series_learning_period(
    page: Page, live_dashboard: Any
) -> None:
    _open_chart(page, live_dashboard, live_dashboard.young, "cpu_usage")
    until = page.get_attribute("#chart", "data-learning-until")
    assert until  # four hours old: learning for another eight and a half
    shaded = page.evaluate(
        "document.getElementById('chart').layout.shapes.filter(s => s.name === 'learning')"
        ".map(s => [s.x0, s.x1])"
    )
    timestamps = page.evaluate("document.getElementById('chart').data[0].x")
    assert shaded == [[timestamps[0], timestamps[-1]]]  # the whole chart: not heard yet
    assert page.locator("#chart text", has_text="learning").count() >= 1  # drawn, not only set
    legend = page.text_content("#chart-legend") or ""
    assert "still learning this young series" in legend and until[:10] in legend
    page.screenshot(path=str(ARTIFACTS / "dashboard-learning.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_dashboard_chart_of_a_grown_series_has_no_learning_shade(
    page: Page, live_dashboard: Any
) -> None:
    _open_chart(page, live_dashboard, live_dashboard.breached, "latency")
    assert page.get_attribute("#chart", "data-learning-until") == ""
    assert "learning" not in (page.text_content("#chart-legend") or "")


def test_dashboard_auto_refreshes(page: Page, live_dashboard: Any) -> None:
    _sign_in(page, live_dashboard.url, live_dashboard.key)
    first = page.text_content("#refreshed")
    page.wait_for_function(
        "previous => document.getElementById('refreshed').textContent !== previous",
        arg=first, timeout=10_000,
    )  # fmt: skip
    assert page.locator("#nodes-table tbody tr.node-row").count() >= 1


def test_dashboard_rejects_bad_key(page: Page, live_dashboard: Any) -> None:
    page.goto(live_dashboard.url)
    page.fill("#api-key", "ack_000000000000_wrong")
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#sign-in-error:has-text('not accepted')")
    assert page.evaluate("sessionStorage.getItem('aboutcloud.apiKey')") is None


def test_dashboard_marks_the_anomalies_still_going_on(page: Page, live_dashboard: Any) -> None:
    _sign_in(page, live_dashboard.url, live_dashboard.key)
    key = live_dashboard.ongoing
    page.goto(f"{live_dashboard.url}/#/cluster/{key.cluster_id}/node/{key.node_id}")
    # the overview's table has the same id: read the rows once the node's view has replaced it
    page.wait_for_selector(f"h1:has-text('Node {key.node_id}')", timeout=15_000)
    page.wait_for_selector("#anomalies-table tbody tr.anomaly-row", timeout=15_000)
    rows = page.locator("#anomalies-table tbody tr.anomaly-row")
    marked = [
        rows.nth(i).locator("td:nth-child(4)").text_content()
        for i in range(rows.count())
        if rows.nth(i).locator(".badge.ongoing").count()
    ]
    assert marked == ["latency"]  # the breach of the last minutes, and nothing else
    badge = rows.locator(".badge.ongoing").first
    assert badge.text_content() == "ongoing"
    assert badge.get_attribute("title") == "Still going on at the last detection run"
    page.screenshot(path=str(ARTIFACTS / "dashboard-ongoing.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
