#!/usr/bin/env bash
# usage: scripts/ci/with-postgres.sh COMMAND [ARGS...]
# Runs COMMAND with TEST_DATABASE_URL naming a throwaway real PostgreSQL server (fresh data
# folder in a temp dir, trust auth, loopback only, a free high port), then stops the server and
# removes the temp dir, whatever happened. CI runs the coordinator suite and the benchmark's
# coordination rows through it (the tests otherwise use PGlite). Installs Debian's postgresql
# package when no server binaries are found.
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: scripts/ci/with-postgres.sh COMMAND [ARGS...]" >&2; exit 2; }
cd "$(dirname "$0")/../.."

find_bin () {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

if ! bin=$(find_bin); then
  if [ "$(id -u)" != 0 ]; then echo "with-postgres.sh: no PostgreSQL server under /usr/lib/postgresql and not root to install one" >&2; exit 1; fi
  echo "with-postgres.sh: installing PostgreSQL (Debian's postgresql package)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
  bin=$(find_bin)
fi

# initdb and postgres refuse to run as root: as root, run them as the postgres user
as_server_user=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  as_server_user=(runuser -u postgres --)
fi

tmp=$(mktemp -d)
cleanup () {
  if [ -f "$tmp/data/postmaster.pid" ]; then
    "${as_server_user[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/socket"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$tmp"; fi

port=$(./node_modules/.bin/node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")

"${as_server_user[@]}" "$bin/initdb" -D "$tmp/data" --username=postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
# a test server: loopback only, no durability needed
"${as_server_user[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
  || { cat "$tmp/server.log" >&2; exit 1; }
for _ in $(seq 1 50); do
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
"$bin/pg_isready" -h 127.0.0.1 -p "$port"

echo "with-postgres.sh: $("$bin/postgres" --version) on 127.0.0.1:$port"
TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@"
