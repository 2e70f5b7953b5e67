// Package search parses the filter strings, order_by lists and page tokens
// of MLflow's search endpoints into typed values, accepting the language
// MLflow accepts and refusing the rest with MLflow's own error messages, so
// that the unmodified MLflow client behaves against posml as it does against
// MLflow. It follows mlflow/utils/search_utils.py (SearchUtils and its
// subclasses), search_logged_model_utils.py, and the operator checks of
// MLflow's SQLAlchemy stores.
//
// It is pure and imports only the standard library and the root package
// posml: every error is a *posml.Error of kind posml.KindInvalid, which the
// MLflow API reports as INVALID_PARAMETER_VALUE (HTTP 400).
//
// # API
//
//	ParseRunFilter, ParseExperimentFilter, ParseRegisteredModelFilter,
//	ParseModelVersionFilter, ParseLoggedModelFilter  filter string → []Clause
//	ParseRunOrderBy, ParseExperimentOrderBy, ParseRegisteredModelOrderBy,
//	ParseModelVersionOrderBy                          order_by list → []OrderBy
//	ParseLoggedModelOrderBy                           one logged-model order_by field → OrderBy
//	EncodePageToken, DecodePageToken                  offset ↔ MLflow's page token
//	CheckMaxResults                                   max_results upper bound
//	Like                                              SQL LIKE / ILIKE in Go
//
// A Clause is one comparison; a filter's clauses are ANDed. Its Type says
// where the key lives (metric, param, tag, attribute, dataset), Key is the
// canonical key (aliases resolved, quotes removed), Op one of the Op
// constants, and the value is Str, Num (IsNumeric) or List (IN, NOT IN).
// Each Parse function documents the keys and operators it can return, so a
// store can map them to columns and bind the values as parameters.
//
// # Grammar
//
// A filter is comparisons joined by AND (any case):
//
//	<identifier> <op> <value> [AND <identifier> <op> <value> ...]
//
// OR, parentheses around comparisons, or any other stray token give
// "Invalid clause(s) in filter string: ...", and a semicolon followed by
// more text gives "Search filter contained multiple expression ...". An
// empty or blank filter gives no clauses.
//
// An identifier is "<prefix>.<key>" or a bare attribute key. Runs accept the
// prefixes metric(s), param(s), parameter(s), tag(s), attribute(s), attr,
// run and dataset(s); experiments and the registry accept attribute, tag and
// tags. Prefixes are case-sensitive, as in MLflow. A key may be wrapped in
// backticks or double quotes (tags.`mlflow.runName`, params."my key"), and
// everything after the first dot belongs to the key.
//
// Values are strings in single or double quotes, numbers (integers,
// decimals, exponents; not hex), and for IN / NOT IN a parenthesised list of
// quoted strings. As in MLflow, a quoted value is taken as written, without
// unescaping, so the filter tags.t = 'it”s' compares with the five
// characters between the outer quotes. Operators are = != > >= < <= LIKE ILIKE IN NOT IN, and for tags
// and params of runs and tags of experiments IS NULL and IS NOT NULL
// (MLflow 3.x).
//
// # Decisions
//
//   - Operators are matched in any case everywhere ("like" is LIKE). MLflow
//     upper-cases them for runs and the registry but not for experiments or
//     logged models, where lower case fails; accepting more breaks no client.
//   - Where MLflow parses a filter and its store then rejects the operator,
//     both happen here, in MLflow's order: every clause's identifier and
//     value first, then every operator.
//   - IN lists keep only the values Python's str.islower accepts, as MLflow
//     does (for MySQL's sake): run_id IN ('ABC') is an empty List, which
//     matches no row, and NOT IN () matches every row. Stores must handle
//     an empty List.
//   - MLflow prints Python sets, whose order varies between processes; the
//     messages here use the order in which MLflow's source lists them.
//   - A list with = or another scalar operator, which makes MLflow fail in
//     SQL with an internal error, is refused as a bad value. A duplicate
//     order_by field, an internal error in MLflow, is INVALID_PARAMETER_VALUE
//     here: a client error must never look like a server fault, since the
//     client retries 5xx.
//   - Logged models have two parsers in MLflow (SQL store and file store);
//     this accepts what either accepts and words errors as the SQL store.
//   - Registered-model order_by accepts the union of MLflow's SQL store
//     (name, timestamp, last_updated_timestamp) and file store (name,
//     creation_timestamp, last_updated_timestamp).
//   - Lexing is linear in the length of the input (quoted strings are
//     matched by a dynamic programme equivalent to sqlparse's backtracking
//     regular expressions), so no filter can make the server spin.
//   - DecodePageToken refuses a negative offset and, like MLflow, an offset
//     of 0; EncodePageToken is never needed for offset 0.
//
// # For stores
//
// A row lacking the key (no such metric, param or tag) matches no clause,
// != included, except IS NULL. LIKE is case-sensitive and ILIKE is
// not; SQLite's LIKE ignores ASCII case by default, so use
// PRAGMA case_sensitive_like or GLOB, and see Like for the exact semantics.
// Metric clauses compare the latest value of the metric.
package search
