// Package registry holds the domain of the model registry: registered models,
// their numbered versions, stages, aliases and tags, the events that record
// every change, and the validation and canonicalisation rules MLflow applies
// to them, with MLflow's exact user-facing messages. It also knows the URI
// forms a model version's source can take (runs:/, models:/, local paths,
// remote URIs) and the checks MLflow's server makes on them.
//
// It is pure: it imports only the standard library and package posml.
// Storage lives in sqlstore; the wire format lives in mlflowapi.
package registry
