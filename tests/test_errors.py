"""The exception tree: errors carry data and stay catchable as the builtins callers expect."""

from __future__ import annotations

import pytest

from backend import errors
from backend.errors import (
    AboutCloudError,
    EngineNotFoundError,
    SeriesNotFoundError,
    SeriesValidationError,
    TenantIsolationError,
    ValidationError,
)


def test_every_public_error_derives_from_root() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), AboutCloudError), name


def test_validation_error_names_field_value_reason() -> None:
    exc = ValidationError("values[3]", float("nan"), "must be finite")
    assert (exc.field, exc.reason) == ("values[3]", "must be finite")
    assert "values[3]" in str(exc) and "must be finite" in str(exc)
    assert isinstance(exc, ValueError)


def test_series_validation_error_names_series() -> None:
    exc = SeriesValidationError("t/c/n/m", "timestamps[2]", 5, "not increasing")
    assert str(exc).startswith("series t/c/n/m: timestamps[2]")


def test_tenant_isolation_error_is_validation_error() -> None:
    exc = TenantIsolationError("acme", "other")
    assert isinstance(exc, ValidationError)
    assert exc.field == "tenant_id"


def test_not_found_errors_are_value_errors() -> None:
    assert isinstance(SeriesNotFoundError("t", "c", "n", "m"), ValueError)
    with pytest.raises(KeyError):
        raise EngineNotFoundError("x", ["default"])


def test_long_values_are_shortened_in_messages() -> None:
    assert len(str(ValidationError("f", "x" * 500, "too long"))) < 120
