// Package projects is posml's project registry: it adds git repositories
// (a URL or a local path, one branch each) as projects, keeps a bare clone
// of each, and syncs them — on request, on a poll interval (Run) and on
// push webhooks (SyncPush). Each new head commit is checked out into a
// temporary directory and validated with package validate, the code behind
// `posml validate`; the commit is stored with its findings, and only a valid
// commit becomes the project's active one, so a bad push never replaces a
// good commit. On activation the registered models the config names are
// created if missing.
//
// Credentials (an HTTPS token or an SSH key, and a webhook secret) are
// handed to the store and to git only; nothing this package returns or logs
// contains them.
//
// It depends on the store through the small Store interface declared here,
// on gitrepo for git and on validate for the checks.
package projects
