// Package forge reads the push webhooks of the git forges posml syncs
// projects from (GitLab, GitHub, Gitea and Forgejo): it checks a delivery's
// secret or signature and extracts the pushed repository, branch and commit.
//
// A webhook is only a hint. posml never takes code or commit ids from a
// payload on trust: a verified push makes the registry fetch the project's
// own URL, and the commit it validates is the one the fetch brings. That is
// why matching a payload to a project (Push.Matches) compares host and path
// only, ignoring scheme, port and credentials: a false match costs one fetch.
//
// Everything here is a pure function of its input. The package imports only
// the standard library and posml; in particular not net/http (headers are
// passed as a lookup function, such as http.Header.Get).
package forge
