// Package datamart is the mart catalog: named datasets defined over a file
// or a SQL query against a named source, materialised into immutable,
// versioned Parquet snapshots, and read back row by row.
//
// It depends on the standard library, posml and the schedule package, plus
// the drivers it needs to read sources (pgx, modernc sqlite, go-sql-driver
// mysql) and parquet-go for snapshots. Its catalog storage is a small Store
// interface satisfied by *sqlstore.Store; it must not import net/http.
//
// # Wire contract (server ↔ Python SDK)
//
// This contract is shared with sdk/python (workbenchPy.GetMartData). All
// paths are under the posml server URL (POSML_URL or MLFLOW_TRACKING_URI).
// Authentication: "Authorization: Bearer <token>" with a run token
// (MLFLOW_TRACKING_TOKEN), or none on a loopback server. Errors are JSON
// {"error": {"code": "NOT_FOUND|INVALID|...", "message": "..."}} with the
// matching HTTP status (404 for an unknown mart or version).
//
// GET /api/posml/marts/{id}/data?version=N&format=csv|parquet
//
//   - version: optional; default is the latest snapshot. 404 when the mart
//     or the version does not exist, or when the mart has no snapshot yet.
//   - format: csv (default) or parquet.
//   - Response headers (both formats):
//     X-Posml-Mart: the mart id
//     X-Posml-Snapshot: the snapshot version (integer, 1-based)
//     X-Posml-Digest: the snapshot content hash (hex, 64 chars, sha256)
//     X-Posml-Rows: the number of data rows
//     X-Posml-Schema: compact JSON array, one object per column in order:
//     [{"name":"sepal_length","type":"float64","nullable":true}, ...]
//     type is one of int64, float64, string, bool, timestamp.
//   - format=csv: Content-Type "text/csv; charset=utf-8". RFC 4180 (Go
//     encoding/csv): a header row with the column names, then one line per
//     row in the snapshot's stored order (the source order; deterministic).
//     A null is an empty field; an empty string is written as "" (quoted)
//     so readers can tell the two apart only through the schema's
//     nullable flag (pandas: read every string column with
//     keep_default_na=False semantics is NOT required; an empty field is
//     NaN/None). Encodings: int64 decimal; float64 shortest round-trip
//     ('g' -1, with NaN/+Inf/-Inf spelled NaN, inf, -inf); bool "true" /
//     "false"; timestamp RFC 3339 with nanoseconds in UTC
//     (2006-01-02T15:04:05.999999999Z).
//   - format=parquet: Content-Type "application/vnd.apache.parquet"; the
//     snapshot file itself. int64 → INT64, float64 → DOUBLE, string →
//     BYTE_ARRAY (UTF8/STRING), bool → BOOLEAN, timestamp →
//     INT64 TIMESTAMP(isAdjustedToUTC=true, unit=MICROS); every column
//     optional when nullable.
//
// The SDK restores dtypes from X-Posml-Schema: int64 → "Int64" when
// nullable and a null is present else int64, float64 → float64, string →
// object, bool → boolean/bool, timestamp → datetime64[ns, UTC]. It must
// return the rows with a default RangeIndex 0..n-1.
//
// When the caller presents a pipeline run token, the server records the
// snapshot as an input of the pipeline run and of the caller's active MLflow
// run (log-inputs dataset: name = mart id, digest = first 36 chars of the
// content hash, source_type "posml-mart", source = the data URL). The SDK
// does nothing for this.
//
// GET /api/posml/marts/{id}
//
//	{"id": "dm_f_20085_2212_142", "source": "", "query": "", "file": "iris.csv",
//	 "refresh_schedule": "", "next_refresh": null,
//	 "created_at": "RFC3339", "updated_at": "RFC3339",
//	 "latest": {snapshot} | null,
//	 "snapshots": [{snapshot}, ...]}  // newest first
//
// where {snapshot} is
//
//	{"version": 1, "rows": 150, "size": 4096, "digest": "<sha256 hex>",
//	 "columns": [{"name","type","nullable"}], "query": "...",
//	 "created_at": "RFC3339"}
//
// GET /api/posml/marts lists marts (same objects without "snapshots") as
// {"marts": [...]}.
package datamart
