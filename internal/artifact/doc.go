// Package artifact keeps run and model artifacts as files behind a small
// Store interface, and serves them over HTTP as MLflow's artifact proxy (the
// mlflow-artifacts API), so that the unmodified MLflow client can upload,
// list, download and delete artifacts through the tracking server.
//
// # Paths
//
// A store path is a slash-separated path relative to the store's root, such
// as "1/4f0c…/artifacts/model/MLmodel"; "" is the root itself. CleanPath
// turns a path that arrived over the wire into a store path the way MLflow's
// validate_path_is_safe does, and rejects anything that could leave the root
// ("..", absolute paths, NUL and other control characters, backslashes,
// drive letters, URI schemes, '#'). Every Store implementation checks its
// paths again, so a caller that skips CleanPath still cannot escape the root.
//
// The tracking server hands out artifact URIs of the form
// mlflow-artifacts:/<exp>/<run>/artifacts (see RunRoot and URIForPath); the
// client maps them onto the proxy routes served by Handler, and PathFromURI
// maps them back onto store paths.
//
// # Stores
//
// Local keeps the files in a directory; S3 keeps them as objects in an S3
// bucket below a key prefix (--artifacts-destination s3://bucket/prefix).
// Both behave the same as far as a caller can see: one conformance suite
// (testStore in storetest_test.go) runs against Local always and against S3
// when a test S3 server is at hand. S3 also implements MultipartStore, so
// the proxy serves MLflow's multipart-upload endpoints over it, handing the
// client presigned part URLs as MLflow's own server does; over Local they
// answer 501 and the client falls back to a plain PUT.
//
// # Dependencies
//
// The package imports the standard library, posml, and for the S3 store
// the MinIO Go client (github.com/minio/minio-go/v7). We chose it over
// aws-sdk-go-v2 because it is one module that does what the store needs
// with the knobs it needs: streamed PutObject of unknown length in parts of
// a set size with a set number in flight (bounded memory), paginated
// listing with a delimiter, batched DeleteObjects, presigned part URLs and
// path-style addressing for MinIO-style endpoints; aws-sdk-go-v2 spreads
// the same over several modules, and its upload manager
// (feature/s3/manager) is deprecated in favour of a transfer manager that
// is not yet at v1.
//
// It also imports net/http, a deliberate exception to the rule that only
// server, mlflowapi, restapi and web do: the proxy is the HTTP face of the
// store. Its contract (streamed bodies, path confinement, MLflow's status
// codes and error JSON) is defined by store semantics, and keeping it here
// lets every store be tested against the same handler.
package artifact
