"""Fixtures every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.analytics.config import reset_config


@pytest.fixture(autouse=True)
def _fresh_process_config() -> Iterator[None]:
    """Each test starts and ends without a process-wide config set by ``set_config`` (the
    file and variables it names are still read, as each test sets them)."""
    reset_config()
    yield
    reset_config()
