"""What validation says about a series: structured issues and the documented result shape.

Every finding is a :class:`ValidationIssue` naming the series, the field (``values[17]``,
``timestamps[3]``, ``tenant_id``), the offending value and the reason, so a caller can show it,
count it or turn it into a :class:`~backend.errors.SeriesValidationError`. The documented
:class:`ValidationResult` keeps its ``errors`` / ``warnings`` string lists for existing callers
and carries the structured issues beside them.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from backend.errors import SeriesValidationError

__all__ = ["Severity", "ValidationIssue", "ValidationResult"]

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


class Severity(StrEnum):
    """An error rejects the series; a warning is reported and the series is kept."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ValidationIssue:
    """One finding about one series.

    ``location`` says where the data came from when that helps the user find it (for files:
    ``"metrics.csv row 18"``); ``count`` is how many points share this problem (the field
    names the first of them).

    >>> issue = ValidationIssue("t/c/n/cpu", "values[2]", float("nan"), "must be finite")
    >>> issue.message
    'series t/c/n/cpu: values[2]=nan: must be finite'
    """

    series: str
    field: str
    value: Any
    reason: str
    severity: Severity = Severity.ERROR
    location: str | None = None
    count: int = 1

    @property
    def is_error(self) -> bool:
        """True when this issue rejects the series."""
        return self.severity is Severity.ERROR

    @property
    def message(self) -> str:
        """``series KEY: FIELD=VALUE: REASON`` plus how often and where, for humans."""
        return f"series {self.series}: {self.detail}"

    @property
    def detail(self) -> str:
        """The message without the series name (for tables already grouped by series)."""
        text = f"{self.field}={_REPR.repr(self.value)}: {self.reason}"
        if self.count > 1:
            text += f" ({self.count} points)"
        if self.location:
            text += f" [{self.location}]"
        return text

    def to_exception(self) -> SeriesValidationError:
        """The exception form, for callers that raise on the first error."""
        return SeriesValidationError(self.series, self.field, self.value, self.reason)


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one series (or batch): ``is_valid`` is False when any error was found.

    ``errors`` and ``warnings`` are the issues' messages, for the documented API; ``issues``
    holds them structured, errors first.
    """

    is_valid: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    issues: tuple[ValidationIssue, ...] = ()

    @classmethod
    def from_issues(cls, issues: Iterable[ValidationIssue]) -> ValidationResult:
        """Build the result from findings: valid exactly when none of them is an error."""
        ordered = sorted(issues, key=lambda issue: not issue.is_error)
        errors = [issue.message for issue in ordered if issue.is_error]
        warnings = [issue.message for issue in ordered if not issue.is_error]
        return cls(not errors, errors, warnings, tuple(ordered))

    @property
    def error_issues(self) -> tuple[ValidationIssue, ...]:
        """Only the issues that reject."""
        return tuple(issue for issue in self.issues if issue.is_error)

    def raise_for_errors(self) -> None:
        """Raise the first error as a :class:`~backend.errors.SeriesValidationError`."""
        for issue in self.issues:
            if issue.is_error:
                raise issue.to_exception()
