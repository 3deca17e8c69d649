#!/usr/bin/env bash
# Sets everything up and runs the service with demo data on the embedded defaults: a local
# OpenSearch node, a generated drop of fictitious people (XIANSUO_DEMO_PERSONS, default 2000)
# ingested into it, the SQLite store in .state/demo, and the API on 127.0.0.1:8088.
#
#   deploy/demo.sh            run in the foreground; Ctrl-C stops the API and the engine
#   deploy/demo.sh --detach   leave both running in the background (logs in .state/demo)
#   deploy/demo.sh --stop     stop a detached demo
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

state=${XIANSUO_DEMO_STATE_DIR:-$root/.state/demo}
os_port=${XIANSUO_DEMO_OPENSEARCH_PORT:-9250}
export XIANSUO_STATE_DIR=$state
export XIANSUO_OPENSEARCH_URL=${XIANSUO_OPENSEARCH_URL:-http://127.0.0.1:$os_port}
export XIANSUO_API_PORT=${XIANSUO_API_PORT:-8088}
mode=${1:-foreground}

stop_all() {
  if [ -f "$state/api.pid" ]; then kill "$(cat "$state/api.pid")" 2>/dev/null || true; rm -f "$state/api.pid"; fi
  deploy/opensearch.sh stop --home "$state/opensearch" || true
}
if [ "$mode" = --stop ]; then stop_all; exit 0; fi

deploy/bootstrap.sh
mkdir -p "$state"
# The demo's own secret key (0600, random, kept across runs): never the development key that
# this repository publishes, so nobody who read the README can mint tokens for a running demo.
.venv/bin/xiansuo secret-file "$state/secret.key"
export XIANSUO_SECRET_KEY_FILE=$state/secret.key
deploy/opensearch.sh start --port "$os_port" --home "$state/opensearch" --name xiansuo-demo

# Demo data: generated once (deterministic), ingested every time (idempotent).
persons=${XIANSUO_DEMO_PERSONS:-2000}
drop=$state/drop-$persons
[ -d "$drop" ] || .venv/bin/python -m demo "$drop" --persons "$persons" >/dev/null
echo "demo: ingesting $drop" >&2
.venv/bin/xiansuo ingest "$drop"
echo "demo: building the relationship graph" >&2
.venv/bin/xiansuo graph build

# Demo accounts (development only; fictitious), one for every role: officers (auditor, the two
# administrators) can only be made by `xiansuo users add`; the data roles are made the same way.
demo_password=${XIANSUO_DEMO_PASSWORD:-demo-passphrase-2026}
demo_accounts="demo.investigator:investigator demo.approver:approver demo.special_task:special_task
demo.analyst:analyst demo.auditor:security_auditor demo.secadmin:security_admin
demo.sysadmin:system_admin"
for account in $demo_accounts; do
  name=${account%%:*}; role=${account#*:}
  if ! out=$(printf '%s\n' "$demo_password" | .venv/bin/xiansuo users add "$name" --role "$role" --region 46 \
      --password-stdin 2>&1); then
    case $out in *"already"*|*"taken"*|*"exists"*) ;; *) echo "$out" >&2; exit 1 ;; esac
  fi
done
echo "demo: accounts $(echo $demo_accounts | sed 's/:[a-z_]*//g') (password: $demo_password)" >&2

url=http://127.0.0.1:$XIANSUO_API_PORT
nohup .venv/bin/xiansuo serve > "$state/api.log" 2>&1 < /dev/null &
echo $! > "$state/api.pid"
[ "$mode" = --detach ] || trap stop_all EXIT
for _ in $(seq 60); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "$url/healthz" >/dev/null || { cat "$state/api.log" >&2; stop_all; exit 1; }
# The demo's first cases and approved applications, filed and approved through the API (logged),
# so each data role finds an application to pick in the page header.
printf '%s\n' "$demo_password" | .venv/bin/python -m demo.seed "$url" "$drop" >/dev/null || { stop_all; exit 1; }
echo "demo: API on $url (try: curl $url/healthz)" >&2
echo "demo: web UI on $url/ui/ (sign in as demo.investigator, demo.special_task or demo.analyst;" \
  "each has an approved application to pick in the page header), API docs on $url/docs" >&2
if [ "$mode" = --detach ]; then
  echo "demo: stop with: deploy/demo.sh --stop (API log: $state/api.log)" >&2
  exit 0
fi
echo "demo: Ctrl-C stops everything (API log: $state/api.log)" >&2
wait "$(cat "$state/api.pid")"
