// Package gitrepo keeps posml's own copy of a project's git repository and
// reads commits out of it: a bare clone per project (Git.Clone, Git.Open),
// fetching one branch (Repo.Fetch), resolving revisions (Repo.Resolve),
// materialising a commit's tree into a fresh run directory (Repo.Checkout)
// and reading a commit's author, time and message (Repo.Log).
//
// # Git as a subprocess
//
// The package runs the git command-line program (git 2.39 or later) as a
// child process, a deliberate exception to the rule that only package
// executor imports os/exec, like package rules runs python3. Git's own
// client speaks every transport and auth method forges use, and its
// behaviour is what users already know from `git clone`; a Go
// reimplementation would be a large dependency with its own gaps.
//
// Every git command runs hardened against its surroundings:
//
//   - no system or global config: GIT_CONFIG_NOSYSTEM=1,
//     GIT_CONFIG_GLOBAL=/dev/null, HOME and XDG_CONFIG_HOME set to a private
//     temporary directory, no credential helper, hooks disabled;
//   - never interactive: GIT_TERMINAL_PROMPT=0, ssh in BatchMode;
//   - transports limited to file, git, http, https and ssh
//     (GIT_ALLOW_PROTOCOL), so a project URL such as "ext::sh -c ..." cannot
//     run a command;
//   - its own process group, killed as a whole when ctx ends, so that a
//     timeout also stops git-remote-https and ssh;
//   - LC_ALL=C, so git's messages are stable.
//
// # Credentials
//
// An HTTPS token reaches git through a GIT_ASKPASS helper script that reads
// it from a 0600 file; an SSH private key is written to a 0600 file and
// named by GIT_SSH_COMMAND (-i key -o IdentitiesOnly=yes
// -o StrictHostKeyChecking=accept-new). Both files live in a 0700 directory
// made for the one command and removed after it. No secret appears in a
// command line (visible in ps), in the environment, in the repository's
// config or in an error: errors name the repository by Redact(url) and
// quote git's stderr with credentials scrubbed. Put credentials in Auth,
// not in the URL; a URL with credentials works but stores them in the
// clone's config.
//
// # Dependencies
//
// The package imports the standard library and posml only.
package gitrepo
