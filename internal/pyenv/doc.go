// Package pyenv provides the Python interpreter a project's runs use: the
// base interpreter itself when the project has no requirements, else a
// virtual environment built from its requirements.txt, cached and shared
// by every run with the same requirements.
//
// An environment is made with `python -m venv --system-site-packages`, so
// that packages the machine already has (numpy, scikit-learn, pandas from
// the distribution) are used as they are and pip installs only what is
// missing, then `pip install -r requirements.txt`. It lives in
// Cache.Dir/<key>, where key is a SHA-256 over the requirements file's
// bytes and the base interpreter's real path and version, and counts as
// built only once its marker file is written, so an interrupted build is
// never used. One build per key runs at a time: concurrent callers in this
// process wait for it and share its outcome, and a lock file keeps other
// processes out. A failed build leaves nothing behind and returns a
// *BuildError carrying pip's output; the next call tries again.
//
// When an operator gives posml an interpreter (--python), the runner uses
// that as it is and does not ask this package.
//
// The package runs python and pip as child processes (os/exec), an
// exception to the rule that only package executor does, like package
// rules; the process of a run itself is started by executor. It imports
// the standard library only.
package pyenv
