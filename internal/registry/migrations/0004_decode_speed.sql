-- 0004: the measured single-stream decode speed (tok/s while generating), the
-- figure the speed estimate predicts; output_tok_s also counts prompt time.
ALTER TABLE model_registry ADD COLUMN decode_tok_s REAL NOT NULL DEFAULT 0;
