"""Sentences a person can act on: one template per anomaly kind, with numbers and units.

Templates are ``str.format`` strings over the fields of an explanation (see
:data:`TEMPLATE_FIELDS`), e.g. ``"{metric} on {node} rose to {observed} ({usual}: {baseline} ±
{spread}) for {duration}"``. The registry keys them by coarse :class:`AnomalyType` or finer
:class:`AnomalyKind`; the kind wins when both are registered.

>>> template = ExplanationTemplate(AnomalyType.SPIKE, "{metric} peaked at {observed}")
>>> template.placeholders
('metric', 'observed')
>>> format_value(97.25, "percent"), format_value(12_345_678.0, "bytes/s")
('97.2 %', '12.3 M bytes/s')
>>> format_duration(725)
'12 min'
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from backend.analytics.explain_signal import BACK_SHARE
from backend.analytics.types import AnomalyKind, AnomalyType
from backend.errors import ValidationError

__all__ = [
    "DEFAULT_TEMPLATES",
    "TEMPLATE_FIELDS",
    "ExplanationTemplate",
    "ExplanationTemplateRegistry",
    "format_duration",
    "format_range",
    "format_value",
    "template_fields",
]

#: Fields a template may use; all are pre-formatted strings (values carry their unit).
TEMPLATE_FIELDS = (
    "metric", "node", "cluster", "tenant", "observed", "baseline", "spread", "baseline_range",
    "usual",
    "deviation", "direction", "duration", "start", "end", "rate", "missing", "gap_start",
    "gap_end", "confidence", "severity", "score", "kind", "type", "held", "before", "change",
    "back", "drifting", "until",
)  # fmt: skip

#: (type or kind, template) pairs; a dict would merge AnomalyType.SPIKE and AnomalyKind.SPIKE.
DEFAULT_TEMPLATES: tuple[tuple[AnomalyType | AnomalyKind, str], ...] = (
    (
        AnomalyKind.SPIKE,
        "{metric} on {node} rose to {observed} ({usual}: {baseline_range}) for {duration}",
    ),
    (
        AnomalyKind.DIP,
        "{metric} on {node} fell to {observed} ({usual}: {baseline_range}) for {duration}",
    ),
    (
        AnomalyKind.LEVEL_SHIFT,
        "{metric} on {node} shifted {direction} from {before} to "
        "{observed} ({change}) at {start}{back} and {held}",
    ),
    (
        AnomalyKind.DRIFT,
        "{metric} on {node} {drifting}: from {baseline} to {observed} ({rate}){until}",
    ),
    (
        AnomalyKind.SEASONAL,
        "{metric} on {node} no longer follows its usual pattern since "
        "{start}: it swings to {observed} ({usual}: {baseline_range})",
    ),
    (
        AnomalyKind.MISSING_DATA,
        "{metric} on {node} has no data for {duration} ({missing} "
        "points missing, {gap_start} to {gap_end}); check the agent or collector on {node}",
    ),
    (
        AnomalyType.SPIKE,
        "{metric} on {node} jumped to {observed} ({usual}: {baseline_range}) for {duration}",
    ),
    (
        AnomalyType.TREND,
        "{metric} on {node} moved {direction} from {baseline} to {observed} since {start}",
    ),
    (AnomalyType.SEASONAL, "{metric} on {node} no longer follows its usual pattern since {start}"),
    (AnomalyType.NORMAL, "{metric} on {node} looks normal: {observed} ({usual}: {baseline_range})"),
)

_UNITS = {"percent": "%", "%": "%", "milliseconds": "ms", "seconds": "s"}
# (from this size on, divide by, prefix): "k" only from 10,000, so 1,234 stays 1234.0
_PREFIXES = ((1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))
_PREFIXED_FROM = _PREFIXES[-1][0]  # below this, values print without a prefix
_MAX_DECIMALS = 9  # a spread keeps two significant figures down to 1e-8; finer ones lose theirs


class _Explained(Protocol):
    @property
    def anomaly_type(self) -> AnomalyType: ...

    @property
    def anomaly_kind(self) -> AnomalyKind | None: ...

    @property
    def baseline_value(self) -> float | None: ...

    @property
    def observed_value(self) -> float | None: ...

    @property
    def deviation_percent(self) -> float | None: ...

    @property
    def confidence(self) -> float: ...

    @property
    def severity(self) -> float: ...

    @property
    def additional_context(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ExplanationTemplate:
    """A format string for one anomaly type or kind; unknown placeholders are rejected early.

    ``anomaly_type`` accepts the enums or their string values (``"dip"``, ``"trend"``).
    """

    anomaly_type: Any
    template: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "anomaly_type", _key(self.anomaly_type))
        if not isinstance(self.template, str) or not self.template.strip():
            raise ValidationError("template", self.template, "must be a non-empty string")
        unknown = [p for p in self.placeholders if p not in TEMPLATE_FIELDS]
        if unknown:
            known = ", ".join(TEMPLATE_FIELDS)
            raise ValidationError("template", self.template, f"unknown fields {unknown}; "
                                  f"known: {known}")  # fmt: skip

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Field names used by the template, in order."""
        try:
            parsed = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise ValidationError(
                "template", self.template, f"not a format string: {exc}"
            ) from None
        return tuple(name for _, name, _, _ in parsed if name)

    def render(self, explanation: _Explained) -> str:
        """The sentence for ``explanation`` (missing numbers read ``n/a``)."""
        return self.template.format_map(template_fields(explanation))


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "n/a"


def template_fields(explanation: _Explained) -> dict[str, str]:
    """Every :data:`TEMPLATE_FIELDS` entry, formatted from the explanation and its context."""
    context = explanation.additional_context
    unit = context.get("unit")
    kind = explanation.anomaly_kind
    observed, baseline = explanation.observed_value, explanation.baseline_value
    fields = _Fields(
        metric=str(context.get("metric_name", "metric")),
        node=str(context.get("node_id", "node")),
        cluster=str(context.get("cluster_id", "n/a")),
        tenant=str(context.get("tenant_id", "n/a")),
        observed=format_value(observed, unit),
        baseline=format_value(baseline, unit),
        spread=format_value(context.get("spread"), unit),
        baseline_range=format_range(baseline, context.get("spread"), unit),
        usual=str(context.get("usual", "usual")),
        deviation=_deviation(explanation.deviation_percent),
        direction=_direction(observed, baseline),
        confidence=f"{explanation.confidence:.0%}",
        severity=f"{explanation.severity:.0%}",
        kind=kind.value.replace("_", " ") if kind else "normal",
        type=explanation.anomaly_type.value,
    )
    fields.update(_step_fields(explanation, fields))
    for name in ("start", "end", "gap_start", "gap_end"):
        if context.get(name) is not None:
            fields[name] = f"{context[name]:%Y-%m-%d %H:%M} UTC"
    if context.get("duration_seconds") is not None:
        fields["duration"] = format_duration(float(context["duration_seconds"]))
        # how long a new level held: to the end of the data, or until it came back
        came_back = bool(context.get("returned"))
        fields["held"] = ("came back after " if came_back else "has stayed there for ") + (
            fields["duration"]
        )
    fields.update(_drift_fields(context, fields))
    if context.get("rate_per_hour") is not None:
        fields["rate"] = f"{format_value(context['rate_per_hour'], unit)} per hour"
    if context.get("missing_points") is not None:
        fields["missing"] = str(context["missing_points"])
    if context.get("score") is not None:
        fields["score"] = f"{float(context['score']):.2f}"
    return fields


def _step_fields(explanation: _Explained, fields: Mapping[str, str]) -> dict[str, str]:
    """Where a level shift stepped from, by how much, and how that stands to usual.

    A step from the usual level is told from it. A step from a level itself far from usual
    (a leak's peak before a restart, context ``level_before``) is told from that level, and
    ``back`` says where it landed against usual: ", back near its usual level (…)," or
    ", still above its usual level (…),".
    """
    before = explanation.additional_context.get("level_before")
    observed, baseline = explanation.observed_value, explanation.baseline_value
    if before is None or observed is None or baseline is None:
        return {"before": fields["baseline"], "change": fields["deviation"], "back": ""}
    before = float(before)
    change = (observed - before) / abs(before) * 100.0 if before else None
    usual = f"({fields['usual']}: {fields['baseline']})"
    if abs(observed - baseline) <= BACK_SHARE * abs(before - baseline):
        back = f", back near its usual level {usual},"
    else:
        back = f", still {'above' if observed > baseline else 'below'} its usual level {usual},"
    unit = explanation.additional_context.get("unit")
    return {
        "before": format_value(before, unit),
        "change": _deviation(None if change is None else round(change, 2)),
        "direction": _direction(observed, before),
        "back": back,
    }


def _drift_fields(context: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, str]:
    """A drift still under way "has been drifting up since …"; one that fell back at once
    (context ``returned``: memory that leaked until a restart) "drifted up between … and …,
    then fell back near its usual level", or "then fell back to 56.8 %" when it fell only
    part of the way (context ``fell_to``)."""
    if context.get("returned"):
        span = f"between {fields['start']} and {fields['end']}"
        fell_to = context.get("fell_to")  # part of the way back only
        unit = context.get("unit")
        landed = "near its usual level" if fell_to is None else f"to {format_value(fell_to, unit)}"
        return {
            "drifting": f"drifted {fields['direction']} {span}",
            "until": f", then fell back {landed}",
        }
    return {"drifting": f"has been drifting {fields['direction']} since {fields['start']}",
            "until": ""}  # fmt: skip


def _deviation(percent: float | None) -> str:
    return "n/a" if percent is None else f"{percent:+.0f} %"


def _direction(observed: float | None, baseline: float | None) -> str:
    if observed is None or baseline is None or observed == baseline:
        return "n/a"
    return "up" if observed > baseline else "down"


class _SharedOrOwn:
    """Method usable on the class (the shared default registry) and on an instance."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: type[ExplanationTemplateRegistry]) -> Callable[..., Any]:
        return functools.partial(self.func, obj if obj is not None else owner.shared())


class ExplanationTemplateRegistry:
    """Templates by anomaly kind or type, starting from :data:`DEFAULT_TEMPLATES`.

    ``get_template`` and ``register_template`` work on an instance and on the class itself
    (which uses one shared registry), as older scripts call them both ways.

    >>> registry = ExplanationTemplateRegistry()
    >>> "fell to" in registry.get_template(AnomalyKind.DIP).template
    True
    >>> ExplanationTemplateRegistry.get_template("trend").anomaly_type
    <AnomalyType.TREND: 'trend'>
    """

    _shared: ClassVar[ExplanationTemplateRegistry | None] = None

    def __init__(self, templates: Mapping[Any, str] | None = None) -> None:
        # AnomalyType.SPIKE == AnomalyKind.SPIKE as strings, so keys carry their enum class.
        self._templates: dict[tuple[str, str], ExplanationTemplate] = {}
        for key, text in [*DEFAULT_TEMPLATES, *(templates or {}).items()]:
            template = ExplanationTemplate(key, text)
            self._templates[_slot(template.anomaly_type)] = template

    @classmethod
    def shared(cls) -> ExplanationTemplateRegistry:
        """The process-wide registry used when the methods are called on the class."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    @_SharedOrOwn
    def get_template(self, anomaly_type: Any) -> ExplanationTemplate:
        """The template for a kind (``"dip"``) or type (``AnomalyType.TREND``)."""
        return self._templates[_slot(_key(anomaly_type))]

    @_SharedOrOwn
    def register_template(self, anomaly_type: Any, template: str | ExplanationTemplate) -> None:
        """Use ``template`` for ``anomaly_type`` from now on."""
        text = template.template if isinstance(template, ExplanationTemplate) else template
        built = ExplanationTemplate(anomaly_type, text)
        self._templates[_slot(built.anomaly_type)] = built

    def template_for(self, explanation: _Explained) -> ExplanationTemplate:
        """The most specific template: the explanation's kind, else its type."""
        kind = explanation.anomaly_kind
        if kind is not None and _slot(kind) in self._templates:
            return self._templates[_slot(kind)]
        return self._templates[_slot(explanation.anomaly_type)]

    def render(self, explanation: _Explained) -> str:
        """The sentence for ``explanation`` using :meth:`template_for`."""
        return self.template_for(explanation).render(explanation)


def _slot(key: AnomalyType | AnomalyKind) -> tuple[str, str]:
    return (type(key).__name__, key.value)


def _key(value: Any) -> AnomalyType | AnomalyKind:
    if isinstance(value, AnomalyType | AnomalyKind):
        return value
    for enum in (AnomalyType, AnomalyKind):
        try:
            return enum(value)
        except ValueError:
            continue
    allowed = sorted({t.value for t in AnomalyType} | {k.value for k in AnomalyKind})
    raise ValidationError("anomaly_type", value, f"must be one of {', '.join(allowed)}")


def format_value(value: float | None, unit: str | None = None) -> str:
    """A number with at most one decimal, an SI prefix when large, and its unit.

    >>> format_value(189_827.4, "bytes/s"), format_value(1234.0), format_value(97.25, "percent")
    ('189.8 k bytes/s', '1234.0', '97.2 %')
    >>> format_value(5.75e306, "bytes"), format_value(-2.5e15)
    ('5.75e+306 bytes', '-2.5e+15')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(round(value / 1e12, 1)) >= 1000:  # beyond 999.9 T: a mantissa, not 300 digits
        return _with_unit(f"{value:.3g}", unit)
    for start, factor, prefix in _PREFIXES:
        if abs(round(value / factor, 1)) >= start / factor:  # 999,999 is 1.0 M, not 1000.0 k
            return _with_unit(f"{value / factor:.1f} {prefix}", unit)
    return _with_unit(f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}", unit)


def format_range(center: float | None, spread: float | None, unit: str | None = None) -> str:
    """``41.0 ± 6.0 %``: the unit once, after both numbers, which share their decimals.

    A spread below 1 is shown to two significant figures and the centre to as many
    decimals, so the two read together: ``1.06 ± 0.11 %``, not ``1.1 ± 0.111 %``.

    >>> format_range(1.0628, 0.111, "percent"), format_range(40.12, 1.93, "percent")
    ('1.06 ± 0.11 %', '40.1 ± 1.9 %')
    """
    if center is None or spread is None or not math.isfinite(spread):
        return format_value(center, unit)
    spread = abs(spread)
    if 0.0 < spread < 1.0 and math.isfinite(center) and abs(center) < _PREFIXED_FROM:
        decimals = min(1 - math.floor(math.log10(spread)), _MAX_DECIMALS)
        text = f"{center:.{decimals}f} ± {spread:.{decimals}f}"
    else:
        text = f"{format_value(center)} ± {format_value(spread)}"
    return _with_unit(text, unit)


def _with_unit(text: str, unit: str | None) -> str:
    """The number(s) in ``text``, then the unit's short name, if any."""
    shown = _UNITS.get(unit or "", unit or "")
    return f"{text} {shown}" if shown else text


def format_duration(seconds: float) -> str:
    """A short human duration: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 3 h``."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, hours, days = total // 60, total // 3600, total // 86_400
    if total < 3600:
        return f"{minutes} min"
    if total < 86_400:
        rest = minutes - hours * 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest_h = hours - days * 24
    return f"{days} d {rest_h} h" if rest_h else f"{days} d"
