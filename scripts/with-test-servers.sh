#!/usr/bin/env bash
# Runs a command with the real servers the tests talk to. A server named by
# CNSGATE_TEST_REDIS_ADDR or CNSGATE_TEST_POSTGRES_DSN is used as it is;
# otherwise this script starts a throw-away one of its own on a free loopback
# port (never 6379 or 5432, which the machine's own services may hold), with
# its data in a temporary directory, exports the variable for the command, and
# stops and removes it when the command ends, whatever the outcome.
# Usage: scripts/with-test-servers.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

work=
redis_pid=
pg_ctl=
pg_data=
pg_user=
cleanup() {
  if [ -n "$pg_ctl" ]; then
    as_pg "$pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
# The command runs in a process group of its own (set -m below), so that a
# signal to this script can end all of it before the servers go.
child=
stop_child() {
  [ -z "$child" ] || { kill -TERM -- "-$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; }
  exit "$1"
}
trap 'stop_child 130' INT
trap 'stop_child 143' TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  while :; do
    p=$((21000 + RANDOM % 11000)) # below the kernel's ephemeral port range
    port_free "$p" && { echo "$p"; return; }
  done
}

# as_pg runs a command as the unprivileged user PostgreSQL demands (initdb
# and postgres refuse to run as root).
as_pg() {
  if [ -z "$pg_user" ]; then "$@"; else runuser -u "$pg_user" -- "$@"; fi
}

start_redis() {
  command -v redis-server >/dev/null || { echo "with-test-servers: redis-server not installed (scripts/test-setup.sh installs it)" >&2; exit 1; }
  local port log="$work/redis.log"
  for _ in 1 2 3 4 5; do
    port=$(pick_port)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize no --dir "$work" --logfile "$log" &
    redis_pid=$!
    for _ in $(seq 1 100); do
      if ! kill -0 "$redis_pid" 2>/dev/null; then break; fi
      if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
        export CNSGATE_TEST_REDIS_ADDR="127.0.0.1:$port"
        echo "with-test-servers: redis-server on $CNSGATE_TEST_REDIS_ADDR"
        return
      fi
      sleep 0.1
    done
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
  done
  echo "with-test-servers: redis-server did not start:" >&2
  cat "$log" >&2 || true
  exit 1
}

start_postgres() {
  local bindir port
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -x "$bindir/initdb" ] || { echo "with-test-servers: PostgreSQL not installed (scripts/test-setup.sh installs it)" >&2; exit 1; }
  if [ "$(id -u)" = 0 ]; then
    pg_user=postgres
    id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
  fi
  mkdir "$work/pg"
  pg_data="$work/pg/data"
  [ -z "$pg_user" ] || chown "$pg_user" "$work/pg"
  as_pg "$bindir/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 --no-sync >"$work/pg/initdb.log" 2>&1 \
    || { cat "$work/pg/initdb.log" >&2; exit 1; }
  pg_ctl="$bindir/pg_ctl"
  for _ in 1 2 3 4 5; do
    port=$(pick_port)
    # Speed over durability: the data is thrown away at the end.
    if as_pg "$pg_ctl" -D "$pg_data" -l "$work/pg/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $work/pg -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
      "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test
      export CNSGATE_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
      echo "with-test-servers: postgres on 127.0.0.1:$port"
      return
    fi
  done
  echo "with-test-servers: postgres did not start:" >&2
  cat "$work/pg/server.log" >&2 || true
  exit 1
}

if [ -z "${CNSGATE_TEST_REDIS_ADDR:-}" ] || [ -z "${CNSGATE_TEST_POSTGRES_DSN:-}" ]; then
  work=$(mktemp -d -t cnsgate-test-servers.XXXXXX)
  chmod 755 "$work"
fi
[ -n "${CNSGATE_TEST_REDIS_ADDR:-}" ] || start_redis
[ -n "${CNSGATE_TEST_POSTGRES_DSN:-}" ] || start_postgres

# Not exec: the trap must stop the servers once the command has ended.
set -m
"$@" &
child=$!
set +m
wait "$child"
