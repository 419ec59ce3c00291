-- 0008: a benchmark run records exactly how the engine ran (settings), which
-- engine and build it was (engine_info), the estimate recomputed for those
-- settings (estimate), where its decode rate comes from, the harness's own
-- end-to-end rate beside it, token totals, why samples ended and why any failed.
ALTER TABLE benchmark_runs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE benchmark_runs ADD COLUMN engine_info TEXT NOT NULL DEFAULT '{}';
ALTER TABLE benchmark_runs ADD COLUMN estimate TEXT NOT NULL DEFAULT '{}';
ALTER TABLE benchmark_runs ADD COLUMN decode_source TEXT NOT NULL DEFAULT '';
ALTER TABLE benchmark_runs ADD COLUMN harness_e2e_tok_s REAL NOT NULL DEFAULT 0;
ALTER TABLE benchmark_runs ADD COLUMN engine_request_tok_s REAL NOT NULL DEFAULT 0;
ALTER TABLE benchmark_runs ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE benchmark_runs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE benchmark_runs ADD COLUMN stop_reasons TEXT NOT NULL DEFAULT '{}';
ALTER TABLE benchmark_runs ADD COLUMN error_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE benchmark_outputs ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
