// Package datamart is the mart catalog: named datasets defined over a file
// or a SQL query against a named source, materialised into immutable,
// versioned Parquet snapshots, and read back row by row.
//
// It depends on posml and the domain packages schedule, pipeline and
// tracking (for their types), on parquet-go for snapshots, and on the
// drivers of the sources it reads (pgx, modernc sqlite, go-sql-driver
// mysql): database/sql is used here only to query users' sources, never
// posml's own database, whose catalog tables sit behind the Store
// interface (*sqlstore.Store). It must not import net/http.
//
// # Wire contract (server ↔ Python SDK)
//
// This contract is shared with sdk/python (workbenchPy.GetMartData). All
// paths are under the posml server URL (POSML_URL or MLFLOW_TRACKING_URI).
// Authentication: "Authorization: Bearer <token>" with a run token
// (MLFLOW_TRACKING_TOKEN), or none on a loopback server; a token that is
// invalid or expired is a 401. Errors are JSON
// {"error": {"code": "not_found|invalid|unauthorized|...", "message": "..."}}
// with the matching HTTP status (404 for an unknown mart or version, with a
// message naming it: "no mart X", "mart X has no version N").
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
//     [{"name":"sepal_length","type":"float64","nullable":false}, ...]
//     type is one of int64, float64, string, bool, timestamp; nullable
//     is true when the snapshot holds at least one null in the column.
//   - format=csv: Content-Type "text/csv; charset=utf-8". RFC 4180 (Go
//     encoding/csv, "\n" line ends): a header row with the column names,
//     then one line per row in the snapshot's stored order (the source's
//     order; deterministic). A null is an empty field; an empty string is
//     an empty field too (CSV cannot tell them apart: use format=parquet
//     where it matters). Encodings: int64 decimal; float64 shortest
//     round-trip ('g', so 1e+06 is possible; NaN, inf, -inf); bool "true" /
//     "false"; timestamp RFC 3339 in UTC with as many fractional digits as
//     needed (2006-01-02T15:04:05.123456Z, "Z" always).
//   - format=parquet: Content-Type "application/vnd.apache.parquet"; the
//     snapshot file itself. int64 → INT64, float64 → DOUBLE, string →
//     BYTE_ARRAY (UTF8/STRING), bool → BOOLEAN, timestamp →
//     INT64 TIMESTAMP(isAdjustedToUTC=true, unit=MICROS); every column
//     optional when nullable.
//
// The SDK restores dtypes from X-Posml-Schema: int64 → int64, or pandas
// "Int64" when nullable; float64 → float64; string → object (None for
// nulls); bool → bool, or "boolean" when nullable; timestamp →
// datetime64[ns, UTC]. It returns the rows with a default RangeIndex
// 0..n-1. HEAD gives the headers without the body.
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
// {"marts": [...]}. PUT /api/posml/marts/{id}/file?name=F.csv (raw body)
// uploads a file as a mart's definition and materialises it: 201 for a new
// mart, else 200, with {"mart", "snapshot", "created"}. The README lists
// the other endpoints (create over a source, refresh, delete, sources).
package datamart
