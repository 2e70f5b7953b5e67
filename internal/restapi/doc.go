// Package restapi serves posml's native JSON API under /api/posml/:
// projects, push webhooks, pipeline runs (with their logs, followed by
// server-sent events) and backfills. One route table (routes) lists every
// endpoint; handlers return errors, which the adapter turns into
// {"error": {"code", "message"}} with the status of the error's posml.Kind.
//
// It depends on the services it serves through small interfaces declared
// here (Projects, Runs), never on SQL.
package restapi
