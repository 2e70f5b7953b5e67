#!/usr/bin/env bash
# Benchmarks posml's tracking server on this machine: starts bin/posml server
# on a fresh SQLite data dir, runs `posml bench tracking` against it (all
# phases, default sizes), prints the table and writes bench-tracking.json.
# Extra arguments go to `posml bench tracking` (e.g. --duration 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
port=${POSML_BENCH_PORT:-5099}
bin/posml server --addr "127.0.0.1:$port" --data-dir "$data" 2>"$data/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
echo "idle RSS of posml server: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
bin/posml bench tracking --url "http://127.0.0.1:$port" --json bench-tracking.json "$@"
echo "RSS after the benchmark: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
