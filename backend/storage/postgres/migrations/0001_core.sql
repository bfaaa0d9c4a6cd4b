-- 0001: series, day chunks of points, anomaly results, aggregated scores, detector state, API keys.
--
-- Points are stored columnar: one row per (series, UTC day) holding packed little-endian arrays
-- (int64 epoch-ns timestamps, float64 values), the same layout as the embedded backend, so a week
-- of minute data is 7-8 rows. point_chunks is range-partitioned by day (the application creates
-- daily partitions ahead of time and on demand); when TimescaleDB is installed in the database it
-- becomes a hypertable with one-day chunks instead. All times outside point chunks are int64
-- epoch nanoseconds, like the other backends.

CREATE TABLE series (
    series_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    cluster_id text NOT NULL,
    node_id text NOT NULL,
    metric_name text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    UNIQUE (tenant_id, cluster_id, node_id, metric_name)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        CREATE TABLE point_chunks (
            tenant_id text NOT NULL,
            series_id integer NOT NULL,
            day integer NOT NULL,
            n integer NOT NULL,
            ts_codec smallint NOT NULL,
            ts bytea NOT NULL,
            vals bytea NOT NULL,
            PRIMARY KEY (series_id, day)
        );
        PERFORM create_hypertable('point_chunks', 'day', chunk_time_interval => 1);
    ELSE
        CREATE TABLE point_chunks (
            tenant_id text NOT NULL,
            series_id integer NOT NULL,
            day integer NOT NULL,
            n integer NOT NULL,
            ts_codec smallint NOT NULL,
            ts bytea NOT NULL,
            vals bytea NOT NULL,
            PRIMARY KEY (series_id, day)
        ) PARTITION BY RANGE (day);
    END IF;
END
$$;
-- One-series range reads use the primary key (series_id, day) within the day partitions;
-- retention reads whole day partitions, so no other index is maintained on writes.
-- Packed floats barely compress: keep them out of line but uncompressed (cheap writes).
ALTER TABLE point_chunks ALTER COLUMN vals SET STORAGE EXTERNAL;
ALTER TABLE point_chunks ALTER COLUMN ts SET STORAGE EXTERNAL;

CREATE TABLE anomaly_results (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    cluster_id text NOT NULL,
    node_id text NOT NULL,
    metric_name text NOT NULL,
    window_start bigint NOT NULL,
    window_end bigint NOT NULL,
    anomaly_score double precision NOT NULL,
    anomaly_label text NOT NULL,
    magnitude double precision,
    explanation text,
    timestamp_detected bigint NOT NULL,
    engine_metadata jsonb NOT NULL,
    anomaly_kind text,
    UNIQUE (tenant_id, cluster_id, node_id, metric_name, window_start, window_end)
);
-- "Latest anomalies of a tenant": a backward scan of this index, score checked in the index.
CREATE INDEX anomaly_results_latest
    ON anomaly_results (tenant_id, window_start, id) INCLUDE (window_end, anomaly_score);

CREATE TABLE aggregated_scores (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    cluster_id text NOT NULL,
    node_id text NOT NULL,
    aggregation_strategy text NOT NULL,
    timestamp bigint NOT NULL,
    aggregate_score double precision NOT NULL,
    num_metrics_analyzed integer NOT NULL,
    num_anomalies_detected integer NOT NULL,
    contributors jsonb NOT NULL,
    UNIQUE (tenant_id, cluster_id, node_id, aggregation_strategy, timestamp)
);
CREATE INDEX aggregated_scores_time ON aggregated_scores (tenant_id, timestamp);

CREATE TABLE detector_state (
    tenant_id text NOT NULL,
    cluster_id text NOT NULL,
    node_id text NOT NULL,
    metric_name text NOT NULL,
    engine text NOT NULL,
    state bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, cluster_id, node_id, metric_name, engine)
);

CREATE TABLE api_keys (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id text NOT NULL UNIQUE,
    tenant_id text NOT NULL,
    role text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    revoked_at bigint,
    label text NOT NULL,
    aware boolean NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
