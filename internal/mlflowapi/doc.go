// Package mlflowapi serves MLflow's tracking REST API (2.x and 3.x clients)
// over the tracking store: experiments, runs, metrics, params, tags, inputs,
// outputs, logged models, metric history and artifact listing, under both
// /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/.
//
// Requests are parsed the way MLflow's Python server parses them (query
// parameters for GET, a JSON body otherwise; int64 as number or string, enums
// as names or numbers, "NaN"/"Infinity" doubles, unknown fields ignored) into
// wire structs that are separate from the domain types of package tracking,
// and errors are rendered as MLflow's {"error_code", "message"} with its HTTP
// statuses. See ../../../shared/specs/mlflow-api.md.
//
// It knows nothing about SQL: the store is an interface declared here.
package mlflowapi
