#!/usr/bin/env bash
# Starts a real one-node Slurm cluster on loopback for the tests of
# internal/executor/slurm, unless one from an earlier call still answers:
# munged, slurmdbd (accounting, on the MariaDB of scripts/mysql.sh),
# slurmctld and slurmd, all as root, everything under /tmp/posml-slurm.
# The node has nproc CPUs, 3/4 of the memory and two fake GPUs (gres.conf
# devices /tmp/posml-slurm/gpu0 and gpu1, like /dev/null); partition "debug" is the
# default. Installs slurmctld, slurmd, slurm-client, slurmdbd and munge with
# apt when missing (needs root: the daemons run as root).
#
# stdout is one line to eval:   eval "$(scripts/slurm.sh)"
#   export POSML_TEST_SLURM=/tmp/posml-slurm/shared SLURM_CONF=/tmp/posml-slurm/etc/slurm.conf
# Everything else goes to stderr. Stop it with: scripts/slurm.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."

dir=/tmp/posml-slurm
etc=$dir/etc
conf=$etc/slurm.conf
shared=$dir/shared
host=$(hostname -s)
ctld_port=${POSML_SLURMCTLD_PORT:-56817}
slurmd_port=${POSML_SLURMD_PORT:-56818}
dbd_port=${POSML_SLURMDBD_PORT:-56819}
export SLURM_CONF=$conf

say() { echo "slurm.sh: $*" >&2; }
logs() {
  for f in /var/log/munge/munged.log "$dir"/*.out "$dir"/slurmdbd.log "$dir"/slurmctld.log "$dir"/slurmd.log; do
    [ -f "$f" ] || continue
    echo "--- tail $f" >&2
    tail -25 "$f" >&2
  done
}
die() { say "$*"; logs; exit 1; }
pid_alive() { # pidfile: its process runs (a zombie does not count)
  [ -f "$1" ] || return 1
  local st
  st=$(awk '{print $3}' "/proc/$(cat "$1")/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# stop_daemon pidfile: SIGTERM, then SIGKILL after 10 s; returns once it is gone.
stop_daemon() {
  pid_alive "$1" || return 0
  kill "$(cat "$1")" 2>/dev/null || true
  for _ in $(seq 1 100); do pid_alive "$1" || return 0; sleep 0.1; done
  kill -9 "$(cat "$1")" 2>/dev/null || true
  sleep 0.2
}

if [ "${1:-}" = stop ]; then
  for d in slurmd slurmctld slurmdbd; do
    if pid_alive "$dir/$d.pid"; then stop_daemon "$dir/$d.pid"; say "stopped $d"; fi
  done
  exit 0
fi

# The node is up and takes jobs: idle, mixed or allocated, and not drained or down.
healthy() {
  scontrol ping >/dev/null 2>&1 || return 1
  local st
  st=$(sinfo -h -N -n "$host" -o %T 2>/dev/null) || return 1
  case $st in idle | mixed | allocated | completing) return 0 ;; esac
  return 1
}
print_env() { echo "export POSML_TEST_SLURM=$shared SLURM_CONF=$conf"; }

if [ -f "$conf" ] && command -v sbatch >/dev/null 2>&1 && healthy; then
  say "reusing the running cluster ($conf)"
  print_env
  exit 0
fi

[ "$(id -u)" = 0 ] || { say "needs root (the daemons run as root)"; exit 1; }

need=()
[ -x /usr/sbin/slurmctld ] || need+=(slurmctld)
[ -x /usr/sbin/slurmd ] || need+=(slurmd)
[ -x /usr/sbin/slurmdbd ] || need+=(slurmdbd)
command -v sbatch >/dev/null 2>&1 || need+=(slurm-client)
[ -x /usr/sbin/munged ] || need+=(munge)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$dir" "$etc" "$dir/state" "$dir/spool" "$shared"
chmod 0755 "$dir" "$etc"
chmod 1777 "$shared" # attempts keep their own subdirectories 0700
# Fake GPUs: character devices like /dev/null (Slurm then sets
# CUDA_VISIBLE_DEVICES), or plain files where mknod is not allowed.
for i in 0 1; do
  [ -c "$dir/gpu$i" ] || { rm -f "$dir/gpu$i"; mknod "$dir/gpu$i" c 1 3 2>/dev/null || : >"$dir/gpu$i"; }
done

# munge: a key of our own if the package made none, and munged as user munge.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
  chmod 0755 /run/munge
  (cd / && setsid runuser -u munge -- /usr/sbin/munged </dev/null >>"$dir/munged.out" 2>&1) || true
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null 2>&1 || die "munged does not answer"
fi

# Accounting: slurmdbd on the tests' MariaDB (scripts/mysql.sh), database
# posml_slurm_acct, user slurm (password slurm), set up over the server's
# socket as its root. Without it (MariaDB or slurmdbd failing) the cluster
# runs with accounting_storage/none: sacct is then disabled and the backend
# reads finished jobs from scontrol.
acct=slurmdbd
mysql_port=${POSML_MYSQL_PORT:-53306}
if ! scripts/mysql.sh >/dev/null; then
  say "warning: scripts/mysql.sh failed: no accounting (sacct)"
  acct=none
elif ! "$(command -v mariadb || command -v mysql)" --no-defaults \
  --socket="/tmp/posml-mysql-$mysql_port/mysqld.sock" -uroot <<SQL; then
CREATE DATABASE IF NOT EXISTS posml_slurm_acct;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
GRANT ALL PRIVILEGES ON posml_slurm_acct.* TO 'slurm'@'127.0.0.1';
GRANT ALL PRIVILEGES ON posml_slurm_acct.* TO 'slurm'@'localhost';
SQL
  say "warning: cannot set up the accounting database: no accounting (sacct)"
  acct=none
fi

cpus=$(nproc)
mem_mib=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 3 / 4))

write_conf() {
  local acct_conf="AccountingStorageType=accounting_storage/none"
  if [ "$acct" = slurmdbd ]; then
    acct_conf="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$dbd_port
AccountingStorageTRES=gres/gpu"
  fi
  cat >"$conf" <<EOF
# posml's test cluster: written by scripts/slurm.sh, rewritten on every start.
ClusterName=posml-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# A container without cgroup control: no cgroup plugins anywhere.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
# Schedule at submit time, at once.
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job that asks for no memory gets 512 MiB a CPU, not the whole node.
DefMemPerCPU=512
GresTypes=gpu
$acct_conf
JobCompType=jobcomp/none
# Finished jobs stay in scontrol for an hour (the backend's fallback when
# sacct is not there).
MinJobAge=3600
KillWait=5
InactiveLimit=0
Waittime=0
OverTimeLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
MessageTimeout=10
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}
write_conf
cat >"$etc/gres.conf" <<EOF
AutoDetect=off
NodeName=$host Name=gpu File=$dir/gpu[0-1]
EOF
# Slurm 22.05 has no CgroupPlugin=disabled: slurmd loads the plugin it
# detects, but with the plugins above it creates no cgroups.
rm -f "$etc/cgroup.conf"
(
  umask 077
  cat >"$etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=$host
DbdPort=$dbd_port
SlurmUser=root
LogFile=$dir/slurmdbd.log
PidFile=$dir/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$mysql_port
StorageUser=slurm
StoragePass=slurm
StorageLoc=posml_slurm_acct
EOF
)
chmod 0600 "$etc/slurmdbd.conf"

# Daemons in the background, detached from this script's output (the
# caller's $(...) would wait for them otherwise).
start() { # name pidfile command...
  local name=$1 pidfile=$2
  shift 2
  stop_daemon "$pidfile" # a daemon left from an earlier call that is not healthy
  # From the state directory: a daemon's working directory is its jobs'
  # (slurmstepd fails getcwd when it was a checkout deleted since).
  (cd "$dir" && exec setsid "$@" </dev/null >>"$dir/$name.out" 2>&1) &
}

if [ "$acct" = slurmdbd ]; then
  start slurmdbd "$dir/slurmdbd.pid" /usr/sbin/slurmdbd -D
  for _ in $(seq 1 100); do
    sacctmgr -n list cluster >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! sacctmgr -n list cluster >/dev/null 2>&1; then
    say "warning: slurmdbd does not answer: no accounting (sacct); $dir/slurmdbd.log:"
    tail -10 "$dir/slurmdbd.log" >&2 || true
    acct=none
    write_conf
  elif ! sacctmgr -n -P list cluster format=cluster | grep -qx posml-test; then
    sacctmgr -i add cluster posml-test >&2 || die "sacctmgr add cluster failed"
  fi
fi

start slurmctld "$dir/slurmctld.pid" /usr/sbin/slurmctld -D -i
for _ in $(seq 1 100); do
  scontrol ping >/dev/null 2>&1 && break
  sleep 0.2
done
scontrol ping >/dev/null 2>&1 || die "slurmctld does not answer"

start slurmd "$dir/slurmd.pid" /usr/sbin/slurmd -D -N "$host"
for _ in $(seq 1 150); do
  healthy && break
  sleep 0.2
done
if ! healthy; then
  # A node left down or drained by an earlier run: bring it back.
  scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
  sleep 1
fi
healthy || die "node $host does not become idle: $(sinfo -N -h -o '%N %T %E' 2>&1)"

out=$(cd "$dir" && timeout 60 sbatch --wait --quiet --output=/dev/null --wrap=true 2>&1) ||
  die "a trivial job did not run: $out"
say "cluster posml-test is up ($conf)"
print_env
