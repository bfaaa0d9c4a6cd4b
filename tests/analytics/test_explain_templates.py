"""Numbers in explanations: the SI prefix must divide by what it says."""

from __future__ import annotations

import pytest

from backend.analytics.explain_templates import format_duration, format_range, format_value


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (189_827.4, "bytes/s", "189.8 k bytes/s"),
        (44_700.0, "bytes/s", "44.7 k bytes/s"),
        (10_000.0, None, "10.0 k"),
        (-25_000.0, "ops/s", "-25.0 k ops/s"),
        (1_402_128.2, "bytes/s", "1.4 M bytes/s"),
        (999_999.0, None, "1.0 M"),
        (2.5e9, None, "2.5 G"),
        (3.2e12, None, "3.2 T"),
        (1234.0, None, "1234.0"),
        (97.25, "percent", "97.2 %"),
        (0.00123, "ms", "0.00123 ms"),
        (0.0, None, "0.0"),
        (None, None, "n/a"),
        (float("nan"), "%", "n/a"),
    ],
)
def test_values_read_as_their_size(value: float | None, unit: str | None, text: str) -> None:
    assert format_value(value, unit) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45 s"),
        (720, "12 min"),
        (3 * 3600 + 300, "3 h 5 min"),
        (2 * 86_400 + 3 * 3600, "2 d 3 h"),
    ],
)
def test_durations_read_in_the_largest_units(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("center", "spread", "unit", "text"),
    [
        (1.0628, 0.111, "percent", "1.06 ± 0.11 %"),
        (40.12, 1.93, "percent", "40.1 ± 1.9 %"),
        (0.0712, 0.0034, "ms", "0.0712 ± 0.0034 ms"),
        (1234.5, 0.5, None, "1234.50 ± 0.50"),
        (-3.2, 0.25, None, "-3.20 ± 0.25"),
        (189_827.4, 0.4, "bytes/s", "189.8 k ± 0.4 bytes/s"),
        (189_827.4, 12_345.0, "bytes/s", "189.8 k ± 12.3 k bytes/s"),
        (5.0, 0.0, "percent", "5.0 ± 0.0 %"),
        (5.0, None, "percent", "5.0 %"),
        (None, 1.0, "percent", "n/a"),
    ],
)
def test_ranges_share_their_decimals(
    center: float | None, spread: float | None, unit: str | None, text: str
) -> None:
    assert format_range(center, spread, unit) == text
