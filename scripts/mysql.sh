#!/usr/bin/env bash
# Starts a throw-away MariaDB server for the tests on 127.0.0.1:53306 (or
# $POSML_MYSQL_PORT) under /tmp/posml-mysql-<port>, unless one already answers
# on the port, makes sure it has the user posml (password posml) and the
# database posml_test, and prints the line that exports its DSN (the
# go-sql-driver form a mysql mart source takes):   eval "$(scripts/mysql.sh)"
set -euo pipefail
port=${POSML_MYSQL_PORT:-53306}
dir=/tmp/posml-mysql-$port
sock=$dir/mysqld.sock
dsn="posml:posml@tcp(127.0.0.1:$port)/posml_test"
server=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd /usr/sbin/mysqld 2>/dev/null | head -1) || true
client=$(command -v mariadb || command -v mysql) || true
if [ -z "$server" ] || [ -z "$client" ]; then
  echo "mysql.sh: no mariadbd/mysqld or mariadb client (scripts/deps.sh installs mariadb-server)" >&2
  exit 1
fi
# The posml user answering on the port: the server is ready (ours, or one a
# developer started, used as it is).
answers() { "$client" --no-defaults -h 127.0.0.1 -P "$port" -uposml -pposml -e "SELECT 1" posml_test >/dev/null 2>&1; }
# An administrator over our own server's socket, by unix_socket
# authentication: root, or the user who ran mariadb-install-db.
admin=root
[ "$(id -u)" = 0 ] || admin=$(id -un)
as_root() { "$client" --no-defaults --socket="$sock" -u"$admin" "$@"; }
if ! answers; then
  user=()
  if [ "$(id -u)" = 0 ]; then user=(--user=mysql); fi
  if [ ! -d "$dir/data/mysql" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown mysql:mysql "$dir"
    install_db=$(command -v mariadb-install-db || command -v mysql_install_db)
    "$install_db" --no-defaults "${user[@]}" --datadir="$dir/data" \
      --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 || {
      echo "mysql.sh: $install_db failed:" >&2; tail -20 "$dir/install.log" >&2; exit 1; }
  fi
  if ! [ -S "$sock" ] || ! as_root -e "SELECT 1" >/dev/null 2>&1; then
    # In the background, detached from this script's output (the caller's
    # $(...) would wait for it otherwise).
    setsid "$server" --no-defaults "${user[@]}" --datadir="$dir/data" --port="$port" \
      --bind-address=127.0.0.1 --socket="$sock" --pid-file="$dir/mysqld.pid" \
      --log-error="$dir/server.err" --skip-name-resolve --skip-log-bin \
      --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
      --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
      --max-connections=200 </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 300); do
      as_root -e "SELECT 1" >/dev/null 2>&1 && break
      if ! kill -0 $! 2>/dev/null; then
        echo "mysql.sh: the server did not start; $dir/server.err:" >&2
        tail -20 "$dir/server.err" >&2
        exit 1
      fi
      sleep 0.1
    done
  fi
  as_root <<SQL
CREATE DATABASE IF NOT EXISTS posml_test;
CREATE USER IF NOT EXISTS 'posml'@'127.0.0.1' IDENTIFIED BY 'posml';
CREATE USER IF NOT EXISTS 'posml'@'localhost' IDENTIFIED BY 'posml';
GRANT ALL PRIVILEGES ON posml_test.* TO 'posml'@'127.0.0.1';
GRANT ALL PRIVILEGES ON posml_test.* TO 'posml'@'localhost';
SQL
  answers || { echo "mysql.sh: the server on port $port does not let posml in" >&2; exit 1; }
fi
echo "export POSML_TEST_MYSQL_URL='$dsn'"
