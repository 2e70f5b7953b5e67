// Package tracking holds the domain of experiment tracking: experiments,
// runs, metrics, params, tags, dataset inputs and logged models, their
// lifecycle and status enums, and the validation rules MLflow applies to them,
// with MLflow's exact user-facing messages.
//
// It is pure: it imports only the standard library and package posml. Storage
// lives in sqlstore; the wire format lives in mlflowapi.
package tracking
