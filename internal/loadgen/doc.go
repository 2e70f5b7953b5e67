// Package loadgen measures an MLflow-compatible tracking server over HTTP:
// sequential log-metric latency, log-batch throughput, runs/get and
// metric-history latency, runs/search over a seeded experiment, and
// concurrent writers whose every acknowledged metric is counted back.
//
// It talks to the server only through the MLflow REST API, so it measures
// posml and MLflow alike. It is a client: it imports net/http for its client
// side and must not depend on any other posml package.
package loadgen
