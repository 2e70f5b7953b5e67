#!/usr/bin/env bash
# Starts a throw-away Kubernetes control plane for the tests, unless one from
# an earlier call still runs and is healthy, and prints the line that exports
# its admin kubeconfig:   eval "$(scripts/kube.sh)"
#
# Components (one multi-call binary built from the Go module proxy by the
# separate module tools/kubecluster, cached in
# ${POSML_TOOLS_CACHE:-~/.cache/posml-tools}/kube-<hash of its sources>):
# embedded etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kwok, which simulates the node kwok-node-0 (32 CPUs, 256Gi, 2 nvidia.com/gpu)
# and moves pods Pending -> Running -> Succeeded (pods owned by a Job). All on
# 127.0.0.1; state and logs in /tmp/posml-kube.
#
#   scripts/kube.sh         start (or reuse) and print the export line
#   scripts/kube.sh stop    stop the processes started by an earlier call
#   POSML_KUBE_SELFTEST=1 scripts/kube.sh   also run `kubecluster check`
#                           (a Job completes, 3 GPUs stay unschedulable,
#                           cascading delete, ttlSecondsAfterFinished)
set -euo pipefail
exec 3>&1 1>&2 # stdout is only for the export line
root=$(cd "$(dirname "$0")/.." && pwd)
# A second, independent cluster (e.g. to try changes without disturbing the
# one tests use): POSML_KUBE_DIR=/tmp/other POSML_KUBE_PORT_OFFSET=10 scripts/kube.sh
state=${POSML_KUBE_DIR:-/tmp/posml-kube}
off=${POSML_KUBE_PORT_OFFSET:-0}
etcd_port=$((52379 + off))
etcd_peer_port=$((52380 + off))
api_port=$((56443 + off))
cm_port=$((56257 + off))
sched_port=$((56259 + off))
components=(etcd apiserver controller-manager scheduler kwok)
kubeconfig=$state/kubeconfig
t0=$(date +%s.%N)
say() { printf 'kube.sh [+%ss] %s\n' "$(( $(date +%s) - ${t0%.*} ))" "$*"; }

# Only one instance at a time (parallel test runs share the cluster).
exec 9>"$state.lock"
flock 9

# ---- stop -------------------------------------------------------------------
ours() { # ours PID: is PID a live kubecluster process?
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q kubecluster
}
stop_components() { # SIGTERM, up to 10s to exit, then SIGKILL
  local c pid pids=()
  for c in "$@"; do
    pid=$(cat "$state/$c.pid" 2>/dev/null || true)
    if ours "$pid"; then kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}
stop_all() { # etcd last: the apiserver shuts down slowly without it
  stop_components kwok scheduler controller-manager apiserver
  stop_components etcd
}
if [ "${1:-}" = stop ]; then
  stop_all
  say "stopped"
  exit 0
fi

# ---- build (cached) ---------------------------------------------------------
src=$root/tools/kubecluster
hash=$(
  cd "$src"
  { find . -maxdepth 1 -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum
    go env GOVERSION GOOS GOARCH; } | sha256sum | cut -c1-16
)
cache=${POSML_TOOLS_CACHE:-$HOME/.cache/posml-tools}/kube-$hash
bin=$cache/kubecluster
if [ ! -x "$bin" ]; then
  say "building $bin (Kubernetes from the Go module proxy; about 5 minutes on 2 cores)"
  mkdir -p "$cache"
  if ! (cd "$src" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
        go build -trimpath -ldflags='-s -w' -o "$bin.tmp" . ) >"$cache/build.log" 2>&1; then
    echo "kube.sh: ERROR: building tools/kubecluster failed; end of $cache/build.log:"
    tail -n 40 "$cache/build.log"
    exit 1
  fi
  mv "$bin.tmp" "$bin"
  say "built"
  # Binaries of older tools/kubecluster sources are of no further use.
  find "$(dirname "$cache")" -mindepth 1 -maxdepth 1 -name 'kube-*' ! -name "kube-$hash" -exec rm -rf {} +
fi

print_export() { echo "export POSML_TEST_KUBECONFIG=$kubeconfig" >&3; }

# ---- reuse a healthy cluster from an earlier call ---------------------------
all_running() {
  local c
  for c in "${components[@]}"; do ours "$(cat "$state/$c.pid" 2>/dev/null || true)" || return 1; done
}
all_alive() { # like all_running, but also true for a child that is just being exec'ed
  local c
  for c in "${components[@]}"; do kill -0 "$(cat "$state/$c.pid" 2>/dev/null || echo 0)" 2>/dev/null || return 1; done
}
if [ -f "$kubeconfig" ] && [ "$(cat "$state/binary" 2>/dev/null)" = "$bin" ] && all_running &&
   "$bin" setup --kubeconfig "$kubeconfig" --timeout 10s 2>/dev/null; then
  say "reusing the running cluster (scripts/kube.sh stop to stop it)"
  if [ "${POSML_KUBE_SELFTEST:-}" = 1 ]; then "$bin" check --kubeconfig "$kubeconfig"; fi
  print_export
  exit 0
fi

# ---- fresh start ------------------------------------------------------------
stop_all
rm -rf "$state"
mkdir -p "$state"
echo "$bin" >"$state/binary"

port_busy() { (exec 7<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $etcd_port $etcd_peer_port $api_port $cm_port $sched_port; do
  if port_busy "$p"; then
    echo "kube.sh: ERROR: port 127.0.0.1:$p is already in use by another process (not a cluster started by scripts/kube.sh):"
    (command -v ss >/dev/null && ss -ltnp "sport = :$p") || true
    exit 1
  fi
done

fail() { # fail MESSAGE COMPONENT...: report, show the logs of the dead/named components, stop
  echo "kube.sh: ERROR: $1"
  shift
  local c shown=0
  for c in "${components[@]}"; do
    [ -f "$state/$c.pid" ] || continue
    if ! kill -0 "$(cat "$state/$c.pid")" 2>/dev/null; then
      echo "---- $c is not running; end of $state/$c.log:"
      tail -n 30 "$state/$c.log" 2>/dev/null || true
      shown=1
    fi
  done
  if [ $shown = 0 ]; then
    for c in "$@"; do
      echo "---- end of $state/$c.log:"
      tail -n 30 "$state/$c.log" 2>/dev/null || true
    done
  fi
  stop_all
  exit 1
}
start() { # start NAME ARGS...: run "kubecluster NAME ARGS" in the background, detached
  local name=$1
  shift
  # Close fd 3 (our stdout: "$(scripts/kube.sh)" would wait for it) and fd 9
  # (the lock) in the long-running children.
  # From the state directory, not the caller's (a checkout that may be deleted).
  (cd "$state" && exec setsid nohup "$bin" "$name" "$@" </dev/null >"$state/$name.log" 2>&1 3>&- 9>&-) &
  echo $! >"$state/$name.pid"
}
wait_port() { # wait_port NAME PORT
  for _ in $(seq 1 300); do
    port_busy "$2" && return 0
    kill -0 "$(cat "$state/$1.pid")" 2>/dev/null || fail "$1 exited during start-up"
    sleep 0.1
  done
  fail "$1 did not listen on 127.0.0.1:$2 within 30s" "$1"
}

"$bin" pki --dir "$state/pki" --server "https://127.0.0.1:$api_port" --service-ip 10.96.0.1 --kubeconfig "$kubeconfig"
"$bin" kwok-stages >"$state/kwok.yaml"
pki=$state/pki

start etcd --data-dir "$state/etcd" --client-url "http://127.0.0.1:$etcd_port" --peer-url "http://127.0.0.1:$etcd_peer_port"
wait_port etcd $etcd_port
say "etcd up"

start apiserver \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=$api_port \
  --endpoint-reconciler-type=none \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/16 \
  --allow-privileged=true --profiling=false --v=1
wait_port apiserver $api_port

start controller-manager \
  --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=$cm_port --cert-dir="$state/controller-manager" \
  --leader-elect=false --controllers='*' --use-service-account-credentials=false \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --profiling=false --v=1

start scheduler \
  --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=$sched_port \
  --leader-elect=false --profiling=false --v=1

start kwok \
  --kubeconfig="$kubeconfig" --config="$state/kwok.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=127.0.0.1

# apiserver ready, node(s) created and Ready, default ServiceAccount present.
"$bin" setup --kubeconfig "$kubeconfig" --nodes kwok-node-0:2 --timeout 120s 3>&- 9>&- &
setup_pid=$!
while kill -0 $setup_pid 2>/dev/null; do
  if ! all_alive; then
    kill $setup_pid 2>/dev/null || true
    wait $setup_pid 2>/dev/null || true
    fail "a component exited during start-up"
  fi
  sleep 0.2
done
wait $setup_pid || fail "the cluster did not become ready (see above)" apiserver controller-manager scheduler kwok
all_running || fail "a component exited during start-up"
say "cluster ready: $kubeconfig (logs: $state/*.log)"

if [ "${POSML_KUBE_SELFTEST:-}" = 1 ]; then
  "$bin" check --kubeconfig "$kubeconfig" || fail "self-test failed" scheduler controller-manager kwok
fi
print_export
