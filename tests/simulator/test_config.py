"""SimulatorConfig: documented defaults and validation naming field and reason."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import ConfigError, ValidationError
from backend.simulator.config import SimulatorConfig


def test_simulator_config_defaults_match_the_documented_api() -> None:
    config = SimulatorConfig()
    assert (config.baseline_mean, config.baseline_std) == (50.0, 5.0)
    assert config.sampling_interval_seconds == 60
    assert config.noise_level == 0.1
    assert (config.inject_spikes, config.inject_trends, config.inject_seasonal) == (
        False,
        False,
        False,
    )
    assert (config.spike_probability, config.spike_magnitude, config.seed) == (0.01, 3.0, None)


def test_simulator_config_interval_in_nanoseconds() -> None:
    assert SimulatorConfig(sampling_interval_seconds=0.5).sampling_interval_ns == 500_000_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("baseline_std", -1.0),
        ("baseline_mean", float("nan")),
        ("sampling_interval_seconds", 0),
        ("sampling_interval_seconds", "60"),
        ("noise_level", -0.1),
        ("spike_probability", 1.5),
        ("spike_magnitude", float("inf")),
        ("inject_spikes", "yes"),
        ("seed", -3),
        ("seed", 1.5),
    ],
)
def test_simulator_config_rejects_bad_value_naming_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        SimulatorConfig(**{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in str(caught.value)
    assert isinstance(caught.value, ValidationError | ValueError)


def test_simulator_config_accepts_numpy_integer_seed() -> None:
    config = SimulatorConfig(seed=np.int64(5))  # type: ignore[arg-type]
    assert config.seed == 5 and type(config.seed) is int
