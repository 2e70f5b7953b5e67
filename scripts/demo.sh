#!/usr/bin/env bash
# `make demo`: posml on its embedded defaults (SQLite, local artifacts under
# ./posml-data) with a demo project: the iris mart of the platform's guide,
# a project from `posml init --lite` in ./demo (a git repository), registered
# with the server, and one train run. The server keeps running in the
# foreground: open http://127.0.0.1:5000, Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export POSML_PYTHON=/usr/bin/python3 POSML_URL=http://127.0.0.1:5000
posml=bin/posml
$posml --version

if [ ! -d demo ]; then
  $posml init --lite demo
  sed -i 's/^mart_id:.*/mart_id: dm_f_20085_2212_142/' demo/src/config.yaml
  git -C demo init -q -b main
  git -C demo add -A
  git -C demo -c user.name=posml -c user.email=demo@posml.invalid commit -qm "demo project"
fi
$posml validate demo

$posml server --addr 127.0.0.1:5000 --data-dir ./posml-data &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' INT TERM EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:5000/health >/dev/null 2>&1 && break; sleep 0.1; done

# The seed's mart: scikit-learn's bundled iris data.
iris=$(mktemp --suffix .csv)
/usr/bin/python3 - "$iris" <<'PY'
import sys
from sklearn.datasets import load_iris
d = load_iris(as_frame=True)
df = d.data.copy()
df.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
df["variety"] = [d.target_names[t] for t in d.target]
df.to_csv(sys.argv[1], index=False)
PY
$posml mart create dm_f_20085_2212_142 --from "$iris"
rm -f "$iris"

$posml project show demo >/dev/null 2>&1 || $posml project add ./demo
$posml run demo --wait || echo "demo: the train run failed; see posml runs list"
echo
echo "posml is running: http://127.0.0.1:5000  (MLFLOW_TRACKING_URI=http://127.0.0.1:5000)  Ctrl-C stops it"
wait $server
