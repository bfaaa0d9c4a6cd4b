"""Hot and cold retention, the same policy for every persistent backend.

Raw points are kept ``raw_days`` (a default and per-tenant overrides); older days are summarised
into 5-minute and 1-hour roll-ups (min, max, mean, count per bucket) and the raw points removed;
5-minute roll-ups are kept ``five_minute_days``, hourly ones ``hourly_days``. Horizons are whole
UTC days because backends store points as day chunks and partition by day.

This package holds the policy, the roll-up math (pure numpy), the read-side stitching of tiers and
the small :class:`RetentionStore` protocol a backend implements; :func:`run_retention` drives
it. Per tenant, a *watermark* records the first day still held raw (and the first day still held
at 5-minute resolution): reads take raw points from the raw watermark on, 5-minute means below
it and hourly means below the 5-minute watermark, so old ranges read the roll-ups transparently.
"""

from __future__ import annotations

from backend.storage.retention.policy import (
    DAY_NS,
    DEFAULT_FIVE_MINUTE_DAYS,
    DEFAULT_HOURLY_DAYS,
    DEFAULT_RAW_DAYS,
    DEFAULT_RETENTION_INTERVAL_S,
    Cutoffs,
    RetentionPolicy,
    RetentionSettings,
)
from backend.storage.retention.rollups import (
    FIVE_MINUTES_S,
    HOUR_S,
    RESOLUTIONS_S,
    Rollup,
    TierDays,
    decode_rollup,
    encode_rollup,
    merge_rollups,
    stitch_tiers,
    summarise,
    tier_days,
)
from backend.storage.retention.run import (
    RetentionJob,
    RetentionReport,
    RetentionStore,
    retention_store_for,
    run_retention,
    start_retention_job,
)

__all__ = [
    "DAY_NS",
    "DEFAULT_FIVE_MINUTE_DAYS",
    "DEFAULT_HOURLY_DAYS",
    "DEFAULT_RAW_DAYS",
    "DEFAULT_RETENTION_INTERVAL_S",
    "FIVE_MINUTES_S",
    "HOUR_S",
    "RESOLUTIONS_S",
    "Cutoffs",
    "RetentionJob",
    "RetentionPolicy",
    "RetentionReport",
    "RetentionSettings",
    "RetentionStore",
    "Rollup",
    "TierDays",
    "decode_rollup",
    "encode_rollup",
    "merge_rollups",
    "retention_store_for",
    "run_retention",
    "start_retention_job",
    "stitch_tiers",
    "summarise",
    "tier_days",
]
