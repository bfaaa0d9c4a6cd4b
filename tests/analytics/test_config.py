"""DetectionConfig: thresholds, per-metric defaults, loading from files and the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.config import (
    DetectionConfig,
    alarm_z_for_window,
    get_config,
    load_config,
    set_config,
    z_to_score,
)
from backend.analytics.config_loading import (
    config_from_env,
    config_from_environment,
    config_from_file,
)
from backend.errors import ConfigError


def test_detection_config_defaults_match_documented_api() -> None:
    config = DetectionConfig()
    assert (config.anomaly_score_threshold, config.critical_threshold) == (0.5, 0.8)
    assert (config.window_size_points, config.stride_points) == (100, 50)
    assert (config.contamination, config.algorithm, config.metric_thresholds) == (
        0.05, "isolation_forest", {})  # fmt: skip
    assert (config.engine, config.use_metric_defaults) == ("default", True)


def test_get_threshold_for_metric_exact_override_wins() -> None:
    config = DetectionConfig(metric_thresholds={"cpu_usage": 0.7, "cpu*": 0.65})
    assert config.get_threshold_for_metric("cpu_usage") == 0.7
    assert config.get_threshold_for_metric("cpu_steal") == 0.65


def test_get_threshold_for_metric_longest_pattern_wins_case_insensitively() -> None:
    config = DetectionConfig(metric_thresholds={"disk*": 0.6, "disk_io*": 0.75})
    assert config.get_threshold_for_metric("DISK_IO_READ") == 0.75
    assert config.get_threshold_for_metric("disk_used") == 0.6


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("cpu_usage", 0.55), ("memory_used", 0.5), ("disk_io", 0.6), ("disk_read_bytes", 0.6),
     ("disk_used_percent", 0.5), ("network_in", 0.6), ("latency_ms", 0.5)],
)  # fmt: skip
def test_get_threshold_for_metric_family_defaults(metric: str, expected: float) -> None:
    assert DetectionConfig().get_threshold_for_metric(metric) == pytest.approx(expected)


def test_family_defaults_follow_the_global_threshold_and_stop_at_critical() -> None:
    assert DetectionConfig(anomaly_score_threshold=0.6).get_threshold_for_metric("net_rx") == 0.7
    tight = DetectionConfig(anomaly_score_threshold=0.75, critical_threshold=0.78)
    assert tight.get_threshold_for_metric("network_in") == 0.78


def test_family_defaults_can_be_switched_off() -> None:
    config = DetectionConfig(anomaly_score_threshold=0.6, use_metric_defaults=False)
    assert config.get_threshold_for_metric("network_in") == 0.6


def test_is_critical_at_and_above_threshold() -> None:
    config = DetectionConfig(critical_threshold=0.9)
    assert config.is_critical(0.9) and config.is_critical(1.0)
    assert not config.is_critical(0.89)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"anomaly_score_threshold": 1.5}, "anomaly_score_threshold"),
     ({"anomaly_score_threshold": 0.9}, "critical_threshold"),
     ({"window_size_points": 0}, "window_size_points"),
     ({"stride_points": 2.5}, "stride_points"),
     ({"contamination": 0.0}, "contamination"),
     ({"contamination": 0.7}, "contamination"),
     ({"critical_threshold": True}, "critical_threshold"),
     ({"algorithm": ""}, "algorithm"),
     ({"metric_thresholds": {"cpu_usage": 2}}, "metric_thresholds['cpu_usage']"),
     ({"metric_thresholds": ["cpu"]}, "metric_thresholds")],
)  # fmt: skip
def test_detection_config_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DetectionConfig(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_detection_config_replace_validates() -> None:
    config = DetectionConfig().replace(window_size_points=60)
    assert config.window_size_points == 60
    with pytest.raises(ConfigError, match="window_size_points"):
        config.replace(window_size_points=-1)


def test_set_config_then_get_config_returns_it() -> None:
    config = DetectionConfig(anomaly_score_threshold=0.65)
    set_config(config)
    assert get_config() is config


def test_get_config_reads_environment_when_none_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD", "0.6")
    assert get_config().anomaly_score_threshold == 0.6


def test_set_config_rejects_other_types() -> None:
    with pytest.raises(ConfigError, match="DetectionConfig"):
        set_config({"anomaly_score_threshold": 0.6})  # type: ignore[arg-type]


def test_config_from_env_parses_numbers_bools_and_json() -> None:
    config = config_from_env({
        "ABOUTCLOUD_DETECTION__WINDOW_SIZE_POINTS": "60",
        "ABOUTCLOUD_DETECTION__USE_METRIC_DEFAULTS": "false",
        "ABOUTCLOUD_DETECTION__METRIC_THRESHOLDS": '{"cpu_usage": 0.7}',
        "ABOUTCLOUD_DETECTION__ENGINE_CONFIG": '{"model": "ZMS"}',
        "OTHER_VARIABLE": "ignored",
    })  # fmt: skip
    assert config.window_size_points == 60 and config.use_metric_defaults is False
    assert config.metric_thresholds == {"cpu_usage": 0.7}
    assert config.engine_config == {"model": "ZMS"}


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [("ANOMALY_SCORE_THRESHOLD", "high", "must be a number"),
     ("METRIC_THRESHOLDS", "{cpu: 0.7}", "must be a JSON object"),
     ("METRIC_THRESHOLDS", '{"cpu_usage": 7}', "must be in"),
     ("USE_METRIC_DEFAULTS", "maybe", "true or false"),
     ("THRESHOLD", "0.5", "unknown setting")],
)  # fmt: skip
def test_config_from_env_errors_name_variable(variable: str, raw: str, message: str) -> None:
    name = f"ABOUTCLOUD_DETECTION__{variable}"
    with pytest.raises(ConfigError, match=message) as caught:
        config_from_env({name: raw})
    assert f"env {name}" in str(caught.value)


def test_config_from_toml_file_detection_table(tmp_path: Path) -> None:
    path = tmp_path / "aboutcloud.toml"
    path.write_text('[detection]\nanomaly_score_threshold = 0.55\nengine = "merlion"\n'
                    '[detection.metric_thresholds]\n"net*" = 0.7\n')  # fmt: skip
    config = config_from_file(path)
    assert (config.anomaly_score_threshold, config.engine) == (0.55, "merlion")
    assert config.get_threshold_for_metric("network_out") == 0.7


def test_config_from_json_file_top_level(tmp_path: Path) -> None:
    path = tmp_path / "detection.json"
    path.write_text(json.dumps({"critical_threshold": 0.9, "window_size_points": 30}))
    config = config_from_file(path)
    assert (config.critical_threshold, config.window_size_points) == (0.9, 30)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [("bad.toml", "anomaly_score_threshold = ", "not valid TOML"),
     ("bad.json", "[1, 2]", "must be an object"),
     ("bad.yaml", "a: 1", "must end in .toml or .json"),
     ("wrong.toml", "window_size_points = 0", "must be an integer >= 1")],
)  # fmt: skip
def test_config_from_file_errors_name_source(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        config_from_file(path)
    error = caught.value
    assert str(path) in f"{error.value} {error.reason}"  # the message may shorten the value


def test_config_from_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        config_from_file(tmp_path / "absent.toml")


def test_load_config_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "aboutcloud.toml"
    path.write_text("[detection]\nanomaly_score_threshold = 0.55\nstride_points = 25\n")
    env = {"ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.65"}
    config = load_config(path, environ=env)
    assert (config.anomaly_score_threshold, config.stride_points) == (0.65, 25)


def test_alarm_z_for_window_grows_with_window_and_shrinking_contamination() -> None:
    assert alarm_z_for_window(0.05, 1000) > alarm_z_for_window(0.05, 100)
    assert alarm_z_for_window(0.01, 100) > alarm_z_for_window(0.05, 100)
    assert alarm_z_for_window(0.05, 1) == 3.0


def test_z_to_score_is_monotone_and_in_unit_interval() -> None:
    z = np.linspace(0.0, 50.0, 101)
    scores = z_to_score(z, 3.5)
    assert np.all(np.diff(scores) > 0)
    assert scores[0] == 0.0 and scores[-1] < 1.0
    assert z_to_score(3.5, 3.5) == pytest.approx(0.5)


@pytest.mark.parametrize("metric", ["cpu_usage", "disk_io", "network_in", "net_rx", "memory_used"])
def test_calibrated_engines_get_the_global_threshold_on_every_family(metric: str) -> None:
    config = DetectionConfig(anomaly_score_threshold=0.45)
    assert config.get_threshold_for_metric(metric, calibrated=True) == 0.45


def test_explicit_overrides_still_apply_to_calibrated_engines() -> None:
    config = DetectionConfig(metric_thresholds={"cpu_usage": 0.7, "net*": 0.65})
    assert config.get_threshold_for_metric("cpu_usage", calibrated=True) == 0.7
    assert config.get_threshold_for_metric("network_in", calibrated=True) == 0.65


def test_the_file_named_by_aboutcloud_config_is_read_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "detection.toml"
    path.write_text(
        "[detection]\nanomaly_score_threshold = 0.55\nengine_config = { warmup_points = 300 }\n"
    )
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD", "0.9")
    config = get_config()
    assert (config.anomaly_score_threshold, config.critical_threshold) == (0.55, 0.9)
    assert config.engine_config == {"warmup_points": 300}
    monkeypatch.setenv("ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD", "0.6")
    assert get_config().anomaly_score_threshold == 0.6


def test_an_edited_config_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "detection.json"
    path.write_text(json.dumps({"anomaly_score_threshold": 0.55}))
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    assert get_config().anomaly_score_threshold == 0.55
    path.write_text(json.dumps({"anomaly_score_threshold": 0.65}))
    stamp = path.stat().st_mtime_ns + 1_000_000_000  # a later modification time, for sure
    os.utime(path, ns=(stamp, stamp))
    assert get_config().anomaly_score_threshold == 0.65


def test_a_missing_config_file_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"ABOUTCLOUD_CONFIG.*cannot read config file"):
        get_config()


def test_a_bad_value_in_the_config_file_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "detection.toml"
    path.write_text("anomaly_score_threshold = 2.0\n")
    monkeypatch.setenv("ABOUTCLOUD_CONFIG", str(path))
    with pytest.raises(ConfigError, match=f"anomaly_score_threshold.*{path.name}"):
        get_config()


# --- per-tenant overrides -------------------------------------------------------------------
def test_for_tenant_replaces_thresholds_and_adds_entries() -> None:
    config = DetectionConfig(
        anomaly_score_threshold=0.5,
        metric_thresholds={"cpu*": 0.7, "disk*": 0.6},
        metric_limits={"error_rate": {"above": 5.0}},
        tenants={
            "acme": {
                "anomaly_score_threshold": 0.6,
                "metric_thresholds": {"disk*": 0.65},
                "metric_limits": {"error_rate": {"above": 2.0}, "latency": {"above": 900}},
            }
        },
    )
    acme = config.for_tenant("acme")
    assert acme.anomaly_score_threshold == 0.6
    assert acme.metric_thresholds == {"cpu*": 0.7, "disk*": 0.65}
    assert acme.get_limit_for_metric("error_rate").above == 2.0  # type: ignore[union-attr]
    assert acme.get_limit_for_metric("latency").above == 900.0  # type: ignore[union-attr]
    other = config.for_tenant("globex")
    assert other is config
    assert other.get_limit_for_metric("error_rate").above == 5.0  # type: ignore[union-attr]
    assert other.get_limit_for_metric("latency") is None


@pytest.mark.parametrize(
    ("tenants", "field", "reason"),
    [
        ({"acme": {"engine": "merlion"}}, "tenants['acme'].engine", "cannot be set per tenant"),
        ({"acme": {"metric_treshold": {}}}, "tenants['acme'].metric_treshold",
         "'metric_thresholds'"),
        ({"acme": {"critical_threshold": 0.3}}, "tenants['acme'].critical_threshold",
         "must not be below"),
        ({"acme": {"metric_limits": {"error_rate": {"abve": 1}}}},
         "tenants['acme'].metric_limits['error_rate'].abve", "did you mean 'above'"),
        ({"acme": 0.6}, "tenants['acme']", "must be a table"),
    ],
)  # fmt: skip
def test_bad_tenant_override_is_refused_at_load(
    tenants: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        DetectionConfig(tenants=tenants)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_tenant_overrides_load_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "detection.toml"
    path.write_text(
        "[detection]\nanomaly_score_threshold = 0.5\n"
        "[detection.tenants.acme]\nanomaly_score_threshold = 0.55\n"
        "[detection.tenants.acme.metric_limits.error_rate]\nabove = 2\nfor_seconds = 300\n"
    )
    config = config_from_file(path)
    acme = config.for_tenant("acme")
    assert acme.anomaly_score_threshold == 0.55
    assert acme.metric_limits["error_rate"].for_seconds == 300.0
    assert config.for_tenant("globex").anomaly_score_threshold == 0.5
    assert config == config_from_file(path)  # derived copies do not affect equality


def test_config_from_env_applies_every_variable_at_once() -> None:
    # one at a time, the raised score threshold would pass the default critical one (0.8)
    config = config_from_env({
        "ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.9",
        "ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD": "0.95",
    })  # fmt: skip
    assert (config.anomaly_score_threshold, config.critical_threshold) == (0.9, 0.95)


def test_config_from_env_cross_field_error_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="must not be below") as caught:
        config_from_env({
            "ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.9",
            "ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD": "0.85",
        })  # fmt: skip
    assert "env ABOUTCLOUD_DETECTION__CRITICAL_THRESHOLD" in str(caught.value)


def test_the_environment_is_parsed_once_per_set_of_variables() -> None:
    first = {"ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.6", "HOME": "/a"}
    again = {"ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.6", "HOME": "/b"}
    changed = {"ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.7"}
    config = config_from_environment(first)
    assert config_from_environment(again) is config  # other variables do not matter
    assert config_from_environment(changed).anomaly_score_threshold == 0.7
    assert config_from_environment(first).anomaly_score_threshold == 0.6
