-- 0005: a counter bumped by every change to model_registry, from any process,
-- so readers (the web API's model list) can cache what they built from it.
CREATE TABLE models_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO models_version (id, n) VALUES (1, 0);
CREATE TRIGGER models_version_insert AFTER INSERT ON model_registry
BEGIN UPDATE models_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER models_version_update AFTER UPDATE ON model_registry
BEGIN UPDATE models_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER models_version_delete AFTER DELETE ON model_registry
BEGIN UPDATE models_version SET n = n + 1 WHERE id = 1; END;
