"""What an alarm says when only the detector saw it.

The platform's explanation classifier reads the raw values around an alarm against a
seasonal baseline in the series' own units. On noise that grows with the level (network
traffic, disk operations) a fall to a tenth of the usual value can sit within its linear
spread, so it may find nothing unusual where the detector, which models such series on a
logarithmic scale, alarmed. The alarm then must not read "looks normal": it says what the
detector saw, with the detector's own numbers.

>>> describe_alarm("network_in", "node-2", "point_down", 189_827.4, 1.1e6, 0.6e6, 1.9e6, 0.0,
...                "bytes/s")
'network_in on node-2 fell to 189.8 k bytes/s where about 1.1 M bytes/s was expected \
(values outside 600.0 k – 1.9 M bytes/s are unusual here)'
"""

from __future__ import annotations

import math

from backend.analytics.explain_templates import format_duration, format_value

__all__ = ["describe_alarm"]

_SANE_BAND = 10.0  # a band reaching beyond this many times the values shown is not shown


def describe_alarm(
    metric: str,
    node: str,
    statistic: str,
    observed: float,
    expected: float,
    lower: float,
    upper: float,
    seconds: float,
    unit: str | None = None,
) -> str:
    """One sentence for an alarm from the detector's forecast, band and statistic.

    >>> describe_alarm("latency", "node-9", "slow_shift", 142.3, 117.2, 90.0, 150.0, 3600.0,
    ...                "ms")
    'latency on node-9 has moved to 142.3 ms, a daily level it has not shown before \
(expected about 117.2 ms), for 1 h'
    """
    shown, usual = format_value(observed, unit), format_value(expected, unit)
    lasting = f", for {format_duration(seconds)}" if seconds > 0 else ""
    if statistic == "slow_shift":
        return (
            f"{metric} on {node} has moved to {shown}, a daily level it has not shown before "
            f"(expected about {usual}){lasting}"
        )
    if statistic in ("volatility", "slow_volatility", "slow_swing"):
        return (
            f"{metric} on {node} varies far more than usual: {shown} where about {usual} "
            f"was expected{lasting}"
        )
    if statistic == "gap":
        return f"{metric} on {node} sent no data for longer than usual before {shown}"
    moved = "rose" if observed >= expected else "fell"
    text = f"{metric} on {node} {moved} to {shown} where about {usual} was expected"
    reach = _SANE_BAND * max(abs(observed), abs(expected))
    if math.isfinite(lower) and math.isfinite(upper) and max(abs(lower), abs(upper)) <= reach:
        band = f"{format_value(lower)} – {format_value(upper, unit)}"
        text += f" (values outside {band} are unusual here)"
    return text + lasting
