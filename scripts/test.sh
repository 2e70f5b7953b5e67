#!/usr/bin/env bash
# The full test suite, from a fresh Debian machine: installs what is missing,
# starts PostgreSQL, MariaDB, a Slurm cluster and a Kubernetes control plane, then vet, gofmt, and every Go test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
eval "$(scripts/pg.sh)"
eval "$(scripts/mysql.sh)"
eval "$(scripts/slurm.sh)"
# A Kubernetes control plane (built once from the Go module proxy, then cached).
eval "$(scripts/kube.sh)"
export POSML_TEST_PYTHON=/usr/bin/python3
# Node test projects (third-party MLflow client, browser tests): pinned by their lock files.
for pkg in test/*/package.json; do
  d=$(dirname "$pkg")
  [ -d "$d/node_modules" ] || (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
done
echo "== go vet"
go vet ./...
echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "gofmt would change:"; echo "$bad"; exit 1; fi
echo "== go test -race"
go test -race -count=1 -timeout 30m ./...
