-- 0001: the model registry (the original design's columns plus provenance and
-- measurements), benchmark runs and their per-sample outputs.
CREATE TABLE model_registry (
    id                         INTEGER PRIMARY KEY,
    model_id                   TEXT UNIQUE NOT NULL,
    name                       TEXT NOT NULL DEFAULT '',
    local_path                 TEXT NOT NULL DEFAULT '',
    quantization_type          TEXT NOT NULL DEFAULT '',
    size_gb                    REAL NOT NULL DEFAULT 0,
    estimated_memory_gb        REAL NOT NULL DEFAULT 0,
    cpu_offload_gb             REAL NOT NULL DEFAULT 0,
    throughput_tokens_per_sec  REAL NOT NULL DEFAULT 0,
    status                     TEXT NOT NULL DEFAULT 'untested'
        CHECK (status IN ('downloading','downloaded','benchmarking','tested','failed','untested')),
    status_reason              TEXT NOT NULL DEFAULT '',
    repo                       TEXT NOT NULL DEFAULT '',
    revision                   TEXT NOT NULL DEFAULT '',
    commit_sha                 TEXT NOT NULL DEFAULT '',
    files                      TEXT NOT NULL DEFAULT '[]',
    size_bytes                 INTEGER NOT NULL DEFAULT 0,
    param_count                INTEGER NOT NULL DEFAULT 0,
    architecture               TEXT NOT NULL DEFAULT '',
    context_length             INTEGER NOT NULL DEFAULT 0,
    quality_stars              INTEGER NOT NULL DEFAULT 0,
    estimated_throughput       REAL NOT NULL DEFAULT 0,
    output_tok_s               REAL NOT NULL DEFAULT 0,
    total_tok_s                REAL NOT NULL DEFAULT 0,
    gpu_layers                 INTEGER NOT NULL DEFAULT 0,
    total_layers               INTEGER NOT NULL DEFAULT 0,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL
);

CREATE TABLE benchmark_runs (
    id               INTEGER PRIMARY KEY,
    model_id         TEXT NOT NULL REFERENCES model_registry(model_id)
                         ON DELETE CASCADE ON UPDATE CASCADE,
    engine           TEXT NOT NULL DEFAULT '',
    engine_flags     TEXT NOT NULL DEFAULT '{}',
    hardware         TEXT NOT NULL DEFAULT '{}',
    samples          INTEGER NOT NULL DEFAULT 0,
    concurrency      INTEGER NOT NULL DEFAULT 0,
    output_tok_s     REAL NOT NULL DEFAULT 0,
    total_tok_s      REAL NOT NULL DEFAULT 0,
    prompt_tok_s     REAL NOT NULL DEFAULT 0,
    requests_per_s   REAL NOT NULL DEFAULT 0,
    ttft_mean_ms     REAL NOT NULL DEFAULT 0,
    ttft_p50_ms      REAL NOT NULL DEFAULT 0,
    ttft_p95_ms      REAL NOT NULL DEFAULT 0,
    ttft_p99_ms      REAL NOT NULL DEFAULT 0,
    e2e_mean_ms      REAL NOT NULL DEFAULT 0,
    e2e_p50_ms       REAL NOT NULL DEFAULT 0,
    e2e_p95_ms       REAL NOT NULL DEFAULT 0,
    e2e_p99_ms       REAL NOT NULL DEFAULT 0,
    itl_mean_ms      REAL NOT NULL DEFAULT 0,
    itl_p50_ms       REAL NOT NULL DEFAULT 0,
    itl_p99_ms       REAL NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    engine_tok_s     REAL NOT NULL DEFAULT 0,
    mem_gpu_bytes    INTEGER NOT NULL DEFAULT 0,
    mem_cpu_bytes    INTEGER NOT NULL DEFAULT 0,
    duration_s       REAL NOT NULL DEFAULT 0,
    status           TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running','completed','failed')),
    error            TEXT NOT NULL DEFAULT '',
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE benchmark_outputs (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES benchmark_runs(id) ON DELETE CASCADE,
    sample_index   INTEGER NOT NULL,
    prompt_id      TEXT NOT NULL DEFAULT '',
    prompt         TEXT NOT NULL DEFAULT '',
    output         TEXT NOT NULL DEFAULT '',
    prompt_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    ttft_ms        REAL NOT NULL DEFAULT 0,
    latency_ms     REAL NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, sample_index)
);

CREATE INDEX benchmark_runs_model ON benchmark_runs(model_id, started_at);
