-- 0003: where a model came from ("hub" download or "local" file registered with
-- add-local) and which engine last measured it, shown by `fitbench list`.
ALTER TABLE model_registry ADD COLUMN source TEXT NOT NULL DEFAULT 'hub';
ALTER TABLE model_registry ADD COLUMN engine TEXT NOT NULL DEFAULT '';
ALTER TABLE install_jobs ADD COLUMN revision TEXT NOT NULL DEFAULT '';
