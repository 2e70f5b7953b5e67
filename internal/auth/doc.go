// Package auth issues and checks run tokens: the opaque credential a
// pipeline run gets as MLFLOW_TRACKING_TOKEN, valid only for that run and
// its project, stored only as a hash, and expired when the run ends.
//
// It depends on lineage and pipeline for its types and on a small Store
// interface (*sqlstore.Store) for storage; it must not import net/http.
package auth
