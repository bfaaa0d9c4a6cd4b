"""Parsing of timestamp and value columns: formats accepted and per-row problem codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backend.ingestion.filecolumns import ParsedColumn, parse_timestamps, parse_values

NS = 1_000_000_000
JAN1 = 1_704_067_200 * NS


def reasons(parsed: ParsedColumn) -> list[str]:
    return [parsed.reasons[c] for c in parsed.codes]


def test_parse_timestamps_iso_naive_is_utc_and_aware_converted() -> None:
    column = pd.Series(["2024-01-01T00:00:00", "2024-01-01 01:00:00+01:00", "2024-01-01T00:02:00Z"])

    parsed = parse_timestamps(column)

    assert parsed.data.tolist() == [JAN1, JAN1, JAN1 + 120 * NS]
    assert not parsed.bad.any()


def test_parse_timestamps_epoch_seconds_int_float_and_text() -> None:
    ints = parse_timestamps(pd.Series([1_704_067_200, 1_704_067_260]))
    floats = parse_timestamps(pd.Series([1_704_067_200.5, np.nan]))
    texts = parse_timestamps(pd.Series(["1704067200", "2024-01-01T00:01:00"], dtype=object))

    assert ints.data.tolist() == [JAN1, JAN1 + 60 * NS]
    assert floats.data[0] == JAN1 + NS // 2
    assert reasons(floats)[1] == "is missing"
    assert texts.data.tolist() == [JAN1, JAN1 + 60 * NS]


def test_parse_timestamps_native_datetimes_with_timezone() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-01-01 01:00"]).tz_localize("Europe/Paris"))

    assert parse_timestamps(stamps).data.tolist() == [JAN1]


def test_parse_timestamps_bad_rows_get_reasons() -> None:
    column = pd.Series(["2024-01-01T00:00:00", "yesterday", None, "1704067200000"], dtype=object)

    parsed = parse_timestamps(column)

    assert parsed.bad.tolist() == [False, True, True, True]
    assert "ISO-8601" in reasons(parsed)[1]
    assert reasons(parsed)[2] == "is missing"
    assert "milliseconds" in reasons(parsed)[3]


def test_parse_timestamps_integer_out_of_range_flagged() -> None:
    parsed = parse_timestamps(pd.Series([1_704_067_200_000_000, 0]))

    assert parsed.codes.tolist()[1] == 0
    assert "out of range" in reasons(parsed)[0]


def test_parse_values_numeric_column_with_nan_and_inf() -> None:
    parsed = parse_values(pd.Series([1.5, np.nan, np.inf]))

    assert parsed.data[0] == 1.5
    assert reasons(parsed) == ["", "is missing", "is not finite (inf)"]


def test_parse_values_text_column_flags_non_numbers() -> None:
    parsed = parse_values(pd.Series(["2", "abc", None, "-inf"], dtype=object))

    assert parsed.data[0] == 2.0
    assert reasons(parsed) == ["", "is not a number", "is missing", "is not finite (inf)"]
