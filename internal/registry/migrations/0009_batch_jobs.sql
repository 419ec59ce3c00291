-- 0009: batch jobs ("Use in production"): an OpenAI Batch API input file run
-- through an installed model (or any OpenAI-compatible endpoint). The job row
-- keeps its settings, counters and measured throughput; batch_lines is the
-- index of the input file (byte offset, length and hash of every line) and the
-- durable record of which lines are finished. out_bytes/err_bytes are the
-- committed lengths of the output and error files: a crash between a file
-- write and its commit leaves bytes past them, which a resume cuts off before
-- writing again, so no line is ever lost or written twice.
CREATE TABLE batch_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- ids are in URLs: never reused
    model_id      TEXT NOT NULL DEFAULT '',
    engine        TEXT NOT NULL DEFAULT '',
    input_path    TEXT NOT NULL,
    input_size    INTEGER NOT NULL DEFAULT 0,
    input_mtime   TEXT NOT NULL DEFAULT '',
    output_path   TEXT NOT NULL,
    error_path    TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued','running','completed','failed','cancelled')),
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    settings      TEXT NOT NULL DEFAULT '{}',
    total_lines   INTEGER NOT NULL DEFAULT 0,
    done_lines    INTEGER NOT NULL DEFAULT 0,
    failed_lines  INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    out_bytes     INTEGER NOT NULL DEFAULT 0,
    err_bytes     INTEGER NOT NULL DEFAULT 0,
    run_seconds   REAL NOT NULL DEFAULT 0,
    output_tok_s  REAL NOT NULL DEFAULT 0,
    lines_per_s   REAL NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    started_at    TEXT NOT NULL DEFAULT '',
    finished_at   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX batch_jobs_unfinished ON batch_jobs(state) WHERE state IN ('queued','running');

CREATE TABLE batch_lines (
    job_id    INTEGER NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
    line_no   INTEGER NOT NULL,
    offset    INTEGER NOT NULL,
    length    INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    custom_id TEXT NOT NULL DEFAULT '',
    state     TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),
    PRIMARY KEY (job_id, line_no)
);
CREATE INDEX batch_lines_pending ON batch_lines(job_id, line_no) WHERE state = 'pending';
