"""The example configuration in docs/examples loads, and the engine it names accepts it."""

from __future__ import annotations

from pathlib import Path

from backend.analytics.config_loading import config_from_file
from backend.analytics.configured_engine import configured_engine

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "detection.toml"


def test_example_config_loads_with_its_limits_and_tenant() -> None:
    config = config_from_file(EXAMPLE)
    assert config.get_threshold_for_metric("network_in", calibrated=True) == 0.6
    limit = config.get_limit_for_metric("error_rate")
    assert limit is not None and (limit.above, limit.for_seconds) == (5.0, 300.0)
    payments = config.for_tenant("payments")
    assert payments.anomaly_score_threshold == 0.45
    assert payments.metric_limits["error_rate"].above == 1.0
    assert payments.get_limit_for_metric("disk_free_bytes") is not None  # the global one


def test_example_config_is_accepted_by_its_engine() -> None:
    config = config_from_file(EXAMPLE)
    engine = configured_engine(config=config)
    assert engine.engine_name() == "default"
    assert engine.config["warmup_points"] == 288
