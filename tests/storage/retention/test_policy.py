from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.errors import ConfigError
from backend.storage.retention import RetentionPolicy, RetentionSettings


def test_policy_tenant_override_and_cutoffs() -> None:
    policy = RetentionPolicy(raw_days=30, five_minute_days=90, tenant_raw_days={"acme": 120})
    cutoffs = policy.cutoffs(datetime(2024, 3, 1, 12, tzinfo=UTC))
    today = 19783  # 2024-03-01
    assert cutoffs.raw_for("other") == today - 30
    assert cutoffs.raw_for("acme") == today - 120
    assert cutoffs.five_minute_for("acme") == today - 120  # never after the raw horizon
    assert cutoffs.earliest_raw_day == today - 120 and cutoffs.latest_raw_day == today - 30
    assert policy.longest_raw_days == 120


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "7"])
def test_policy_bad_days_rejected(bad: object) -> None:
    with pytest.raises(ConfigError, match="raw_days"):
        RetentionPolicy(raw_days=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="acme"):
        RetentionPolicy(tenant_raw_days={"acme": bad})  # type: ignore[dict-item]


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABOUTCLOUD_RETENTION_RAW_DAYS", "14")
    monkeypatch.setenv("ABOUTCLOUD_RETENTION_TENANT_RAW_DAYS", '{"acme": 3}')
    policy = RetentionSettings().policy()
    assert policy.raw_days == 14 and policy.raw_days_for("acme") == 3
