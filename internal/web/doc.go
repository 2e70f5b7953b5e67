// Package web serves posml's browser UI: server-rendered html/template pages
// enhanced with htmx, metric charts drawn by uPlot, and the static assets
// they need, all embedded in the binary (see Assets) and served under
// content-hashed URLs so browsers may cache them forever.
//
// Pages: experiments, the runs of an experiment (paginated, sortable,
// filtered with MLflow's filter grammar), a run (params, tags, metric
// charts, artifacts), a comparison of runs, registered models and a model's
// versions and history.
//
// It reads through the small Store interface (every query lives in
// sqlstore) and the artifact.Store; it holds no SQL and writes nothing.
package web
