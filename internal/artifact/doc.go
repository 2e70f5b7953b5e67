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
// # Dependencies
//
// The package imports only the standard library and posml. It also imports
// net/http, a deliberate exception to the rule that only server, mlflowapi,
// restapi and web do: the proxy is the HTTP face of the store. Its contract
// (streamed bodies, path confinement, MLflow's status codes and error JSON)
// is defined by store semantics, and keeping it here lets the S3 store that
// comes later be tested against the same handler.
package artifact
