#!/usr/bin/env bash
# A throwaway PostgreSQL server for the shared-ledger tests.
#
#   eval "$(bash .ci/postgres.sh)"   # start; exports MKTSYNC_TEST_POSTGRES_URL (and _DIR)
#   bash .ci/postgres.sh stop [DIR]  # stop it and remove its folder (DIR defaults to
#                                    # $MKTSYNC_TEST_POSTGRES_DIR)
#
# Installs Debian's `postgresql` when initdb/pg_ctl are missing (as root; set
# MKTSYNC_PG_NO_INSTALL=1 to forbid that), makes a cluster in a temp folder, and starts
# it on a free port on 127.0.0.1 only, with trust authentication for the local
# `mktsync` role and fsync off: it holds nothing worth keeping.  The cluster runs as
# the `postgres` user when this runs as root, since PostgreSQL refuses to run as root.
# Only the `export` lines go to stdout (for eval); everything else goes to stderr.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  # Debian keeps them off PATH, one folder per major version: take the newest.
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
    return 0
  fi
  return 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop() {
  local dir="${1:-${MKTSYNC_TEST_POSTGRES_DIR:-}}"
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    say "nothing to stop (no cluster folder given)"
    return 0
  fi
  local bindir
  bindir=$(find_bindir)
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  rm -rf "$dir"
}

start() {
  local bindir
  if ! bindir=$(find_bindir); then
    if [ "${MKTSYNC_PG_NO_INSTALL:-}" = "1" ] || [ "$(id -u)" -ne 0 ]; then
      say "initdb/pg_ctl not found and not installing them"
      return 1
    fi
    say "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2
    bindir=$(find_bindir)
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi

  local dir port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/mktsync-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
  fi
  # A free loopback port: bind port 0 and read what the kernel chose.
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

  as_owner "$bindir/initdb" -D "$dir/data" -U mktsync --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 \
    || { cat "$dir/data/server.log" >&2; return 1; }
  say "PostgreSQL running on 127.0.0.1:$port (cluster in $dir)"
  echo "export MKTSYNC_TEST_POSTGRES_URL=postgresql://mktsync@127.0.0.1:$port/postgres"
  echo "export MKTSYNC_TEST_POSTGRES_DIR=$dir"
}

case "${1:-start}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) say "usage: $0 [start|stop [DIR]]"; exit 2 ;;
esac
