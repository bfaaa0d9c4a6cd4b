-- 0002: hot/cold retention. Raw day chunks older than a tenant's horizon are summarised into
-- 5-minute and 1-hour roll-ups (min, max, mean, count per bucket; one row per series,
-- resolution and day) and removed. The watermarks record, per tenant, the first day still held
-- raw and the first day still held at 5-minute resolution, so reads know which tier to use.

CREATE TABLE rollup_chunks (
    tenant_id text NOT NULL,
    series_id integer NOT NULL,
    resolution_s integer NOT NULL CHECK (resolution_s > 0),
    day integer NOT NULL,
    n integer NOT NULL,
    summary bytea NOT NULL,
    PRIMARY KEY (series_id, resolution_s, day)
);
ALTER TABLE rollup_chunks ALTER COLUMN summary SET STORAGE EXTERNAL;
CREATE INDEX rollup_chunks_tenant_day ON rollup_chunks (tenant_id, resolution_s, day);

CREATE TABLE retention_watermarks (
    tenant_id text NOT NULL,
    tier text NOT NULL CHECK (tier IN ('raw', '5m')),
    first_day integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, tier)
);
