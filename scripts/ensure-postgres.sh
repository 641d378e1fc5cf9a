#!/usr/bin/env bash
# Makes sure PostgreSQL serves the tests the way they expect it
# (postgres://postgres@127.0.0.1:5432/test, no password): installs Debian's
# postgresql with apt-get when it is missing, creates the cluster when there
# is none, trusts 127.0.0.1 in pg_hba.conf, starts the cluster, and creates
# database "test". It changes nothing when the server already answers, and
# exits non-zero saying why when it cannot get there (.ci/run then fails
# instead of letting the PostgreSQL tests skip).
#
# ATTUNE_PG_PORT (default 5432) and ATTUNE_PG_CLUSTER (default main) pick
# another cluster, so the script can be tried on a throwaway one.
set -euo pipefail

port="${ATTUNE_PG_PORT:-5432}"
cluster="${ATTUNE_PG_CLUSTER:-main}"
db=test

say() { echo "ensure-postgres: $*" >&2; }
fail() { say "$*"; exit 1; }
ready() { psql -w -X -h 127.0.0.1 -p "$port" -U postgres -d "$db" -tAc 'select 1' >/dev/null 2>&1; }
as_postgres() { runuser -u postgres -- "$@"; }

if command -v psql >/dev/null && ready; then
  say "PostgreSQL ready on 127.0.0.1:$port (database $db)"
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "PostgreSQL does not answer on 127.0.0.1:$port as user postgres, database $db, and setting it up needs root"

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  command -v apt-get >/dev/null || fail "PostgreSQL is not installed and there is no apt-get to install it"
  say "installing Debian postgresql..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; } ||
    fail "apt-get install -y postgresql failed"
fi

# The cluster's version: the one it exists in, else the newest server installed.
version=""
for d in /etc/postgresql/*/"$cluster"; do
  [ -d "$d" ] && version="$(basename "$(dirname "$d")")"
done
if [ -z "$version" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  [ -n "$version" ] || fail "no PostgreSQL server found under /usr/lib/postgresql"
  say "creating cluster $version/$cluster on port $port..."
  pg_createcluster --port "$port" "$version" "$cluster" >/dev/null || fail "pg_createcluster $version $cluster failed"
fi
conf="/etc/postgresql/$version/$cluster"
actual_port="$(sed -n 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$conf/postgresql.conf" | tail -1)"
[ "${actual_port:-5432}" = "$port" ] || fail "cluster $version/$cluster is configured for port $actual_port, not $port"

# The tests connect as postgres over TCP without a password: trust loopback.
# pg_hba.conf is read top down, so the line goes first.
hba="$conf/pg_hba.conf"
changed=0
if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  { echo "host all all 127.0.0.1/32 trust   # added by attune scripts/ensure-postgres.sh"; cat "$hba"; } >"$hba.attune-tmp"
  chown --reference="$hba" "$hba.attune-tmp"
  chmod --reference="$hba" "$hba.attune-tmp"
  mv "$hba.attune-tmp" "$hba"
  changed=1
fi

if pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" status >/dev/null 2>&1; then
  if [ "$changed" = 1 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload || fail "reload of cluster $version/$cluster failed"
  fi
else
  say "starting cluster $version/$cluster..."
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || fail "pg_ctlcluster $version $cluster start failed"
fi
for _ in $(seq 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || fail "cluster $version/$cluster does not accept connections on 127.0.0.1:$port"

if [ "$(as_postgres psql -X -p "$port" -tAc "select 1 from pg_database where datname = '$db'")" != 1 ]; then
  as_postgres createdb -p "$port" "$db" || fail "createdb $db failed"
fi
ready || fail "PostgreSQL still does not answer on 127.0.0.1:$port as user postgres, database $db"
say "PostgreSQL ready on 127.0.0.1:$port (database $db, cluster $version/$cluster)"
