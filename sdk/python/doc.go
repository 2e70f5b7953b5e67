// Package pythonsdk embeds posml's Python SDK (the posml package and the
// top-level workbenchPy module of this directory) in the binary, and writes
// it to disk for the pipeline runs: the executor puts the directory
// Install returns on every run's PYTHONPATH, so that
// `from workbenchPy import GetMartData` and `import posml.tracking` work
// with nothing installed.
//
// The Python sources, their pyproject.toml and their unittest suite
// (tests/, run by this package's Go test against a real posml server) live
// next to this file.
//
// It depends on the standard library only.
package pythonsdk
