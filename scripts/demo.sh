#!/usr/bin/env bash
# Starts posml on its embedded defaults (SQLite, local artifacts under
# ./posml-data) with a demo project in ./demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
bin/posml --version
[ -d demo ] || bin/posml init demo
bin/posml validate --python /usr/bin/python3 demo
if bin/posml server --help >/dev/null 2>&1; then
  echo "posml server on http://127.0.0.1:5000 (Ctrl-C to stop)"
  exec bin/posml server --addr 127.0.0.1:5000 --data-dir ./posml-data
fi
