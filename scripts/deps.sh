#!/usr/bin/env bash
# Installs, when missing, what posml's test suite needs on a Debian machine:
# Debian's python3 with PyYAML, scikit-learn and pandas (no PyPI: Python
# packages come from apt and are importable only by /usr/bin/python3), git,
# PostgreSQL, MariaDB, Node.js + npm, Chromium. Needs root (or sudo) only when
# something is missing.
set -euo pipefail

need=()
have_py() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }
have_py yaml    || need+=(python3-yaml)
have_py sklearn || need+=(python3-sklearn)
have_py pandas  || need+=(python3-pandas)
dpkg -s python3-venv >/dev/null 2>&1 || need+=(python3-venv)
command -v git >/dev/null 2>&1 || need+=(git)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 ||
  [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || need+=(mariadb-server)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
# A one-node Slurm cluster for the slurm backend (scripts/slurm.sh).
[ -x /usr/sbin/slurmctld ] || need+=(slurmctld slurmd slurm-client slurmdbd munge)
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${need[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "deps: done" >&2
