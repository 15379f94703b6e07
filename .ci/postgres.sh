#!/usr/bin/env bash
# Start a throw-away PostgreSQL (Debian's package) on a Unix socket only, for running the
# test suite against the PostgreSQL catalog. Prints the catalog URL on stdout.
#
#   url=$(bash .ci/postgres.sh start /var/tmp/medinfra-pg)
#   MEDINFRA_CATALOG="$url" cargo test --workspace
#   bash .ci/postgres.sh stop /var/tmp/medinfra-pg
#
# No TCP port is opened; authentication is `trust` on the socket, which only this machine's
# users can reach. Collation C, so ORDER BY on text sorts by bytes as SQLite does.
set -euo pipefail

cmd="${1:?usage: postgres.sh start|stop DIR}"
dir="${2:?usage: postgres.sh start|stop DIR}"

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/pg_ctl" ] && bindir="$d"
done
if [ -z "$bindir" ]; then
  echo "installing Debian's postgresql" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && bindir="$d"
  done
fi
[ -n "$bindir" ] || { echo "error: no PostgreSQL found after installing it" >&2; exit 1; }

# PostgreSQL refuses to run as root: run it as the package's `postgres` user then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      :
    else
      rm -rf "$dir"
      mkdir -p "$dir/data" "$dir/socket"
      [ "$(id -u)" -ne 0 ] || chown -R postgres "$dir"
      as_owner "$bindir/initdb" -D "$dir/data" --auth=trust --encoding=UTF8 --locale=C \
        --username=medinfra >"$dir/initdb.log" 2>&1
      # fsync off: a test cluster, thrown away; connections for parallel tests and servers.
      as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
        "-k $dir/socket -c listen_addresses='' -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2
      as_owner "$bindir/createdb" -h "$dir/socket" -U medinfra medinfra >&2
    fi
    echo "postgres:///medinfra?host=$dir/socket&user=medinfra"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
