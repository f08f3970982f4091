#!/usr/bin/env bash
# Every CivicLoop service as a local process (what `make run` starts), with logs and pid files in the run directory.
#   services.sh start|stop|status
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="${CIVICLOOP_RUN_DIR:-$root/.run}"
uv="${UV:-uv}"

# name | port | command
SERVICES=(
  "intake|8001|civicloop-intake serve --host 127.0.0.1 --port 8001"
  "public-projections|8002|civicloop-projections serve --host 127.0.0.1 --port 8002"
  "open311-gateway|8003|civicloop-gateway serve --host 127.0.0.1 --port 8003"
  "open311-outbound|8005|civicloop-outbound run --host 127.0.0.1 --port 8005"
  "open311-poller|-|civicloop-outbound open311 run"
  "geo|8004|civicloop-geo serve --host 127.0.0.1 --port 8004"
)
# The back-end adapter app runs when it has a configuration (docs/outbound.md, services/open311-gateway/backend-adapters).
if [ -n "${CIVICLOOP_ADAPTERS_CONFIG:-}" ]; then
  SERVICES+=("backend-adapters|8010|civicloop-backend-adapters serve --host 127.0.0.1 --port 8010")
fi

secret() {
  # Dev-only secrets, generated once per run directory; production sets them from its secret store.
  local file="$run/secrets/$1"
  mkdir -p "$run/secrets"; chmod 700 "$run/secrets"
  [ -s "$file" ] || python3 -c 'import secrets; print(secrets.token_hex(32))' >"$file"
  cat "$file"
}

wait_ready() {
  local name="$1" port="$2"
  if [ "$port" = "-" ]; then  # a worker without HTTP: alive after a moment is all we can ask
    sleep 1; kill -0 "$(cat "$run/services/$name.pid")" 2>/dev/null && return 0
    tail -n 30 "$run/logs/$name.log" >&2; echo "$name exited during start" >&2; return 1
  fi
  for _ in $(seq 1 240); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$run/services/$name.pid")" 2>/dev/null; then
      tail -n 30 "$run/logs/$name.log" >&2; echo "$name exited during start" >&2; return 1
    fi
    sleep 0.25
  done
  tail -n 30 "$run/logs/$name.log" >&2; echo "$name was not ready within 60 s" >&2; return 1
}

start() {
  mkdir -p "$run/services" "$run/logs"
  export CIVICLOOP_VAULT_PEPPER="${CIVICLOOP_VAULT_PEPPER:-$(secret vault-pepper)}"
  export CIVICLOOP_ADMIN_TOKEN="${CIVICLOOP_ADMIN_TOKEN:-$(secret admin-token)}"
  export CIVICLOOP_PUBLIC_BASE_URL="${CIVICLOOP_PUBLIC_BASE_URL:-http://127.0.0.1:8003}"
  export CIVICLOOP_DEFAULT_JURISDICTION_ID="${CIVICLOOP_DEFAULT_JURISDICTION_ID:-demo}"
  # The outbound sender (bodies are defined with `civicloop-outbound bodies define`) and the Open311 poller run as
  # their own workers beside the gateway.
  for entry in "${SERVICES[@]}"; do
    IFS='|' read -r name port cmd <<<"$entry"
    if [ -f "$run/services/$name.pid" ] && kill -0 "$(cat "$run/services/$name.pid")" 2>/dev/null; then continue; fi
    # shellcheck disable=SC2086
    nohup "$uv" run --frozen $cmd >>"$run/logs/$name.log" 2>&1 &
    echo $! >"$run/services/$name.pid"
  done
  for entry in "${SERVICES[@]}"; do
    IFS='|' read -r name port _ <<<"$entry"
    wait_ready "$name" "$port"
  done
  "$uv" run --frozen python "$here/seed_demo.py" requests --intake http://127.0.0.1:8001
  local key_file="$run/secrets/demo-partner-key"
  if [ ! -s "$key_file" ]; then
    "$uv" run --frozen civicloop-gateway partners create --jurisdiction demo --client-id demo-app \
        --name "Demo partner app" | grep -E '^o311_' >"$key_file"
  fi
  local partner_key; partner_key="$(cat "$key_file")"
  cat <<MSG

CivicLoop is running (jurisdiction "demo"):
  intake              http://127.0.0.1:8001   (OpenAPI: http://127.0.0.1:8001/docs)
  public-projections  http://127.0.0.1:8002   (OpenAPI: http://127.0.0.1:8002/docs)
  open311-gateway     http://127.0.0.1:8003/open311/v2/discovery.json   (OpenAPI: http://127.0.0.1:8003/docs)
  geo                 http://127.0.0.1:8004   (OpenAPI: http://127.0.0.1:8004/docs)
  outbound            http://127.0.0.1:8005/readyz   uv run civicloop-outbound status   (bodies, queues, pauses)
  Kafka               127.0.0.1:39092         PostgreSQL + PostGIS  postgresql://postgres@127.0.0.1:55432/civicloop
  logs                $run/logs/

Try:
  curl -s -X POST http://127.0.0.1:8001/api/v1/requests -H 'Content-Type: application/json' \\
       -H 'Idempotency-Key: try-1' \\
       -d '{"service_code":"pothole","description":"Deep pothole","lat":34.0522,"long":-118.2437,
            "contact":{"phone":"+1 213 555 0100"},"preferred_channel":"sms"}'
  curl -s http://127.0.0.1:8002/api/v1/agent/requests/<request_number>
  curl -s 'http://127.0.0.1:8001/api/v1/track?number=<request_number>&phone=%2B12135550100'
  curl -s 'http://127.0.0.1:8004/api/v1/geocode?jurisdiction_id=demo&q=2111+W+Bellvue+Ave'
  curl -s 'http://127.0.0.1:8004/api/v1/areas/stats?jurisdiction_id=demo'
  curl -s 'http://127.0.0.1:8004/api/v1/public/heatmap?jurisdiction_id=demo&resolution=7'
  curl -s http://127.0.0.1:8003/open311/v2/services.xml
  curl -s -X POST http://127.0.0.1:8003/open311/v2/requests.json -d api_key=$partner_key \\
       -d service_code=graffiti -d lat=34.0522 -d long=-118.2437 -d description='Tag on the wall'
Demo partner API key (client demo-app): $partner_key   (admin token: $run/secrets/admin-token)
Stop with: make down
MSG
}

stop() {
  for entry in "${SERVICES[@]}"; do
    IFS='|' read -r name _ _ <<<"$entry"
    local pidfile="$run/services/$name.pid"
    if [ -f "$pidfile" ]; then
      local pid; pid="$(cat "$pidfile")"
      pkill -TERM -P "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      rm -f "$pidfile"; echo "$name: stopped"
    fi
  done
}

status() {
  for entry in "${SERVICES[@]}"; do
    IFS='|' read -r name port _ <<<"$entry"
    if [ "$port" = "-" ]; then
      if [ -f "$run/services/$name.pid" ] && kill -0 "$(cat "$run/services/$name.pid")" 2>/dev/null; then echo "$name: running"; else echo "$name: down"; fi
    elif curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then echo "$name: ready on :$port"; else echo "$name: down"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
