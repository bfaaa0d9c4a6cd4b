"""What a stuck-value alarm says: the stretch of one repeated value, and a sentence for it.

The detector's ``flat`` statistic alarms when one exact value has been repeated for longer
than any earlier run of repeats (twice as long, and at least 20 samples). The usual cause
is in collection, not in the system watched: a hung exporter re-sending its last sample, a
frozen sensor, a counter that stopped. So such an alarm is reported as missing data, with
how long the value has not moved.

>>> import numpy as np
>>> stuck_start(np.array([1.0, 2.0, 5.0, 5.0, 5.0]), 4)
2
"""

from __future__ import annotations

import numpy as np

from backend.analytics.explain_templates import format_duration, format_value

__all__ = ["describe_stuck", "stuck_start"]


def stuck_start(values: np.ndarray, end: int) -> int:
    """Index of the first sample of the run of values equal to ``values[end]``."""
    changed = np.flatnonzero(values[: end + 1] != values[end])
    return int(changed[-1]) + 1 if changed.size else 0


def describe_stuck(
    metric: str,
    node: str,
    value: float,
    samples: int,
    seconds: float,
    unit: str | None = None,
) -> str:
    """One sentence for a stuck value, with the value, its unit and how long it held.

    >>> describe_stuck("cpu_usage", "node-7", 41.5, 21, 6000.0, "percent")
    'cpu_usage on node-7 has reported the same value, 41.5 %, for 1 h 40 min (21 samples \
in a row, far longer than ever before); check the agent or collector on node-7'
    """
    return (
        f"{metric} on {node} has reported the same value, {format_value(value, unit)}, "
        f"for {format_duration(seconds)} ({samples} samples in a row, far longer than ever "
        f"before); check the agent or collector on {node}"
    )
