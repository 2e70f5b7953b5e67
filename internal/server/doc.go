// Package server builds posml's one HTTP server from the handlers of the
// API packages plus middleware (panic recovery, request logs, Prometheus
// metrics), serves /health, /version and /metrics, and runs it until its
// context ends, then shuts it down gracefully.
//
// It holds no business logic and no SQL.
package server
