-- 0010: a model's vision projector (the variant's mmproj file), kept apart from
-- files: code treats files as the model's shards (the engine is given files[0],
-- a re-verify hashes them, a layout move renames them), while the projector is
-- a second file handed to the engine beside them (llama-server --mmproj, a
-- second file in Ollama's create request). JSON of one File, or '' for none.
ALTER TABLE model_registry ADD COLUMN projector TEXT NOT NULL DEFAULT '';
