"""ValidationIssue / ValidationResult: messages and structure."""

from __future__ import annotations

import pytest

from backend.errors import SeriesValidationError
from backend.ingestion.results import Severity, ValidationIssue, ValidationResult


def test_issue_message_names_series_field_value_reason_count_location() -> None:
    issue = ValidationIssue("t/c/n/m", "value", "abc", "is not a number", location="f.csv row 3",
                            count=4)  # fmt: skip

    assert issue.message == "series t/c/n/m: value='abc': is not a number (4 points) [f.csv row 3]"
    assert issue.detail == "value='abc': is not a number (4 points) [f.csv row 3]"


def test_issue_message_truncates_long_values() -> None:
    issue = ValidationIssue("t/c/n/m", "node_id", "x" * 500, "too long")

    assert len(issue.message) < 150


def test_result_from_issues_errors_first_and_validity() -> None:
    warning = ValidationIssue("s", "timestamps[3]", 0, "gap", Severity.WARNING)
    error = ValidationIssue("s", "values[1]", 1, "bad")

    result = ValidationResult.from_issues([warning, error])

    assert not result.is_valid
    assert result.issues == (error, warning)
    assert result.errors == [error.message]
    assert result.warnings == [warning.message]
    assert result.error_issues == (error,)


def test_result_only_warnings_is_valid() -> None:
    result = ValidationResult.from_issues([ValidationIssue("s", "f", 0, "r", Severity.WARNING)])

    assert result.is_valid
    result.raise_for_errors()


def test_result_raise_for_errors_raises_series_validation_error() -> None:
    result = ValidationResult.from_issues([ValidationIssue("t/c/n/m", "values[0]", 2.0, "bad")])

    with pytest.raises(SeriesValidationError) as info:
        result.raise_for_errors()

    assert (info.value.series, info.value.field, info.value.value) == ("t/c/n/m", "values[0]", 2.0)


def test_result_documented_positional_form() -> None:
    result = ValidationResult(False, ["e"], ["w"])

    assert (result.is_valid, result.errors, result.warnings, result.issues) == (
        False, ["e"], ["w"], ()
    )  # fmt: skip
