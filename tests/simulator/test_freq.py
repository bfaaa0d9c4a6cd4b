"""Frequency strings for fleets and the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.errors import ValidationError
from backend.simulator._freq import parse_freq

S = 1_000_000_000


@pytest.mark.parametrize(
    ("freq", "seconds"),
    [
        ("1min", 60),
        ("5min", 300),
        ("60s", 60),
        ("1h", 3600),
        ("30", 30),
        (15, 15),
        (0.5, 0.5),
        ("2 minutes", 120),
        ("1D", 86400),
        (timedelta(minutes=2), 120),
    ],
)
def test_parse_freq_known_forms(freq: object, seconds: float) -> None:
    assert parse_freq(freq) == int(seconds * S)


@pytest.mark.parametrize("freq", ["", "abc", "5 fortnights", "-1min", "0s", 0, None, True])
def test_parse_freq_rejects_bad_value_naming_field(freq: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_freq(freq)
    assert caught.value.field == "freq"
