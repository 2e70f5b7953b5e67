-- Indexes for the web UI's pipeline run list, which pages newest first by
-- run id (keyset "before"). Filtered by state, the list used the queue
-- index (state, fire_at, id) and sorted every run of that state, hundreds
-- of thousands for "succeeded"; with these, every page of the list is one
-- index range scan, with or without a project.
CREATE INDEX pipeline_runs_state ON pipeline_runs (state, id);
CREATE INDEX pipeline_runs_project_state ON pipeline_runs (project_id, state, id);
