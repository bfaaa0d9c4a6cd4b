"""Build a :class:`DetectionConfig` from a TOML/JSON file and the environment.

Explicit parsing (no pydantic in analytics): every value is checked against the field's type
and a bad one raises :class:`~backend.errors.ConfigError` naming the field, the value and the
source it came from (file path or environment variable). Precedence: defaults < file < env.

>>> env = {"ABOUTCLOUD_DETECTION__ANOMALY_SCORE_THRESHOLD": "0.6",
...        "ABOUTCLOUD_DETECTION__METRIC_THRESHOLDS": '{"cpu_usage": 0.7}'}
>>> config = config_from_env(env)
>>> config.anomaly_score_threshold, config.metric_thresholds
(0.6, {'cpu_usage': 0.7})
>>> config_from_env({"ABOUTCLOUD_DETECTION__WINDOW_SIZE_POINTS": "ten"})
Traceback (most recent call last):
...
backend.errors.ConfigError: window_size_points='ten': must be an integer (from env ABOUTCLOUD_...
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backend.analytics.config import DetectionConfig
from backend.errors import ConfigError

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_PREFIX",
    "config_from_env",
    "config_from_environment",
    "config_from_file",
    "config_from_mapping",
    "file_section",
    "load_config",
]

ENV_PREFIX = "ABOUTCLOUD_DETECTION__"
#: Names a TOML/JSON config file every command reads (then the variables override it).
CONFIG_FILE_ENV = "ABOUTCLOUD_CONFIG"
_FIELDS = {f.name: f for f in dataclasses.fields(DetectionConfig) if f.init}
_KINDS = {
    "anomaly_score_threshold": "float", "critical_threshold": "float", "contamination": "float",
    "window_size_points": "int", "stride_points": "int", "algorithm": "str", "engine": "str",
    "metric_thresholds": "mapping", "engine_config": "mapping", "use_metric_defaults": "bool",
    "metric_limits": "mapping", "tenants": "mapping",
}  # fmt: skip


def config_from_mapping(
    data: Mapping[str, Any], source: str = "mapping", base: DetectionConfig | None = None
) -> DetectionConfig:
    """``base`` (defaults if None) updated with the fields in ``data``; unknown keys are errors."""
    values = {name: _coerce(name, raw, source) for name, raw in data.items()}
    try:
        return dataclasses.replace(base or DetectionConfig(), **values)
    except ConfigError as exc:
        raise ConfigError(exc.field, exc.value, f"{exc.reason} (from {source})") from None


def config_from_file(path: str | Path, base: DetectionConfig | None = None) -> DetectionConfig:
    """Read a ``.toml`` or ``.json`` file; fields may sit at top level or under ``[detection]``."""
    return config_from_mapping(file_section(path), source=str(path), base=base)


def file_section(path: str | Path) -> Mapping[str, Any]:
    """The detection fields a config file sets, as written (not yet checked)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("path", str(file), f"cannot read config file ({exc.strerror})") from None
    data = _parse_file(file, text)
    section = data.get("detection", data)
    if not isinstance(section, Mapping):
        raise ConfigError("detection", section, f"must be a table (from {file})")
    return section


def config_from_env(
    environ: Mapping[str, str] | None = None, base: DetectionConfig | None = None
) -> DetectionConfig:
    """``base`` updated from ``ABOUTCLOUD_DETECTION__<FIELD>`` variables (JSON for mappings)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    variables: dict[str, str] = {}
    for variable, raw in sorted(env.items()):
        if variable.upper().startswith(ENV_PREFIX):
            name = variable[len(ENV_PREFIX) :].lower()
            values[name] = _coerce(name, raw, f"env {variable}")
            variables[name] = variable
    try:
        # all at once, so raising both thresholds does not trip over their order
        return dataclasses.replace(base or DetectionConfig(), **values)
    except ConfigError as exc:
        raise ConfigError(
            exc.field, exc.value, f"{exc.reason} (from {_env_source(exc.field, variables)})"
        ) from None


def _env_source(field: str, variables: Mapping[str, str]) -> str:
    """The variable that set ``field`` (``metric_limits['x'].above`` → ``…METRIC_LIMITS``),
    else all the variables read, as a cross-field check may involve any of them."""
    for name, variable in variables.items():
        if field == name or field.startswith((f"{name}[", f"{name}.")):
            return f"env {variable}"
    return "env " + ", ".join(variables.values())


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> DetectionConfig:
    """Defaults, then the file at ``path`` (if given), then the environment."""
    config = DetectionConfig() if path is None else config_from_file(path)
    return config_from_env(environ, base=config)


def config_from_environment(environ: Mapping[str, str] | None = None) -> DetectionConfig:
    """The process's configuration: the file ``ABOUTCLOUD_CONFIG`` names (if set), then the
    ``ABOUTCLOUD_DETECTION__<FIELD>`` variables. The file is re-read only when it changes."""
    env = os.environ if environ is None else environ
    settings = tuple(sorted((k, v) for k, v in env.items() if k.upper().startswith(ENV_PREFIX)))
    path = env.get(CONFIG_FILE_ENV)
    if not path:
        return _environment_config(None, 0, settings)
    try:
        changed = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ConfigError(
            CONFIG_FILE_ENV, path, f"cannot read config file ({exc.strerror})"
        ) from None
    return _environment_config(path, changed, settings)


@functools.lru_cache(maxsize=32)
def _environment_config(
    path: str | None, changed_ns: int, settings: tuple[tuple[str, str], ...]
) -> DetectionConfig:
    """The configuration of one file version and one set of variables, parsed once (every
    series of a run and every API request asks for it)."""
    base = None if path is None else _file_config(path, changed_ns)
    return config_from_env(dict(settings), base=base)


@functools.lru_cache(maxsize=8)
def _file_config(path: str, changed_ns: int) -> DetectionConfig:
    """One file's configuration, cached per modification time (a run asks per series)."""
    return config_from_file(path)


def _parse_file(file: Path, text: str) -> dict[str, Any]:
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ConfigError("path", str(file), "a JSON config must be an object")
            return data
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError("path", str(file), f"not valid {suffix[1:].upper()}: {exc}") from None
    raise ConfigError("path", str(file), "config files must end in .toml or .json")


def _coerce(name: str, raw: Any, source: str) -> Any:
    if name not in _FIELDS:
        known = ", ".join(sorted(_FIELDS))
        raise ConfigError(name, raw, f"unknown setting; known: {known} (from {source})")
    kind = _KINDS[name]
    if isinstance(raw, str) and kind != "str":
        return _from_text(name, kind, raw, source)
    return raw


def _from_text(name: str, kind: str, text: str, source: str) -> Any:
    stripped = text.strip()
    try:
        if kind == "int":
            return int(stripped)
        if kind == "float":
            return float(stripped)
    except ValueError:
        raise ConfigError(name, text, f"must be an integer (from {source})" if kind == "int"
                          else f"must be a number (from {source})") from None  # fmt: skip
    if kind == "bool":
        return _parse_bool(name, stripped, source)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            name, text, f"must be a JSON object ({exc.msg}) (from {source})"
        ) from None


def _parse_bool(name: str, text: str, source: str) -> bool:
    lowered = text.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, text, f"must be true or false (from {source})")
