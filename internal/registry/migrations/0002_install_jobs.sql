-- 0002: install jobs, so an install interrupted by a crash or restart can be
-- resumed or marked failed on the next start instead of staying "downloading".
CREATE TABLE install_jobs (
    id          INTEGER PRIMARY KEY,
    model_id    TEXT NOT NULL,
    repo        TEXT NOT NULL DEFAULT '',
    quant       TEXT NOT NULL DEFAULT '',
    files       TEXT NOT NULL DEFAULT '[]',
    status      TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued','running','done','failed')),
    phase       TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    options     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX install_jobs_unfinished ON install_jobs(status) WHERE status IN ('queued','running');
