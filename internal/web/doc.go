// Package web serves posml's browser UI: server-rendered html/template pages
// enhanced with htmx, metric charts drawn by uPlot, and the static assets
// they need, all embedded in the binary (see Assets) and served under
// content-hashed URLs so browsers may cache them forever.
//
// Pages: experiments, the runs of an experiment (paginated, sortable,
// filtered with MLflow's filter grammar), a run (params, tags, metric
// charts, artifacts), a comparison of runs, registered models and a model's
// versions and history; with Deps.Pipelines, projects (status, findings,
// schedule preview with DST marks), pipeline runs (attempts, live log,
// outputs, promotion decisions) and the lineage of a model version; with
// Deps.Marts, the data marts and a preview of their snapshots.
//
// It reads through small interfaces (Store, Pipelines, Marts: every query
// lives in sqlstore) and the artifact.Store; it holds no SQL. Its only
// writes are the buttons of the project and pipeline run pages, POST forms
// checked against a CSRF token (csrf.go) that call the services the REST
// API uses (ProjectActions, RunActions).
package web
