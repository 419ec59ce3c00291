-- 0006: ids of models and benchmark runs are never reused. SQLite gives a new
-- row max(id)+1, so deleting the newest model or run handed its id to the next
-- one, and a page or link holding the old id showed another model's data.
-- Inserts take their id from id_sequences (registry code); the triggers keep
-- each sequence at or above every id ever inserted, whoever inserted it.
CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
);
INSERT INTO id_sequences (name, n) SELECT 'model_registry', COALESCE(MAX(id), 0) FROM model_registry;
INSERT INTO id_sequences (name, n) SELECT 'benchmark_runs', COALESCE(MAX(id), 0) FROM benchmark_runs;
CREATE TRIGGER id_sequences_models AFTER INSERT ON model_registry
BEGIN UPDATE id_sequences SET n = MAX(n, NEW.id) WHERE name = 'model_registry'; END;
CREATE TRIGGER id_sequences_runs AFTER INSERT ON benchmark_runs
BEGIN UPDATE id_sequences SET n = MAX(n, NEW.id) WHERE name = 'benchmark_runs'; END;
