#!/usr/bin/env bash
# Schemathesis (PyPI) against the server's OpenAPI document (issue 7): a demo server on a fresh
# data directory, every operation fuzzed with an operator's API token; fails on any 5xx or any
# response that does not match the schema.
#   bash bench/schemathesis.sh [MAX_EXAMPLES] [MAX_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-50}"
seconds="${2:-600}"
# A venv of its own, outside the work tree (schemathesis pins its own hypothesis/jsonschema).
venv="${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/medinfra/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "schemathesis>=4.3,<5"
fi
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --quiet --manifest-path crates/server/Cargo.toml --target-dir "$target" --example serve
work="$(mktemp -d /tmp/medinfra-schemathesis.XXXXXX)"
"$target/debug/examples/serve" "$work/data" 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  [ -s "$work/serve.out" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done
addr="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["addr"])' "$work/serve.out")"
token="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["operator_token"])' "$work/serve.out")"
# Run from the scratch directory: schemathesis keeps state in ./.schemathesis.
cd "$work"
# Taking credentials back is left out: the fuzzer would revoke its own token (ids are small
# integers) or disable its user and test the rest as the public. tests/api.rs covers them.
"$venv/bin/schemathesis" run "http://$addr/api/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --exclude-path-regex '^/api/(tokens/\{id\}/revoke|users/\{name\}/(disable|password))$' \
  --header "Authorization: Bearer $token" \
  --max-examples "$examples" --max-time "$seconds" --seed 7 \
  --generation-database none --no-color --report-dir "$work/report"
