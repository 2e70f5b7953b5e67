// Package sqlstore owns all SQL of posml: the tracking store (experiments,
// runs, metrics, params, tags, inputs, logged models and their searches) on
// SQLite (modernc.org/sqlite, pure Go) or PostgreSQL (pgx), with embedded
// numbered migrations per dialect.
//
// Domain types from package tracking go in and out; *sql.Tx never leaves the
// package. Every multi-row write runs in one transaction. A missing row is an
// error wrapping posml.ErrNotFound, never a nil result. Dialect differences
// live in the unexported dialect struct.
//
// It must not depend on net/http or on the wire format of any API.
package sqlstore
