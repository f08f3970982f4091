#!/usr/bin/env bash
# Every CivicLoop service as a local process (what `make run` starts), run under supervisord (the `supervisor`
# package of the workspace's dev tools): it starts each service's own process (no `uv run` wrapper between them),
# restarts one that crashes, and stops exactly the processes it started. Logs and state live in the run directory.
#   services.sh start|stop|status|welcome|providers|demo|ctl <supervisorctl arguments>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="${CIVICLOOP_RUN_DIR:-$root/.run}"
uv="${UV:-uv}"
conf="$run/supervisord.conf"
pidfile="$run/supervisord.pid"

# name | port (- for a worker without HTTP; several comma-separated, the first one HTTP) | command (found on the
# workspace's PATH) | optional: the path answering when it is ready (/readyz unless given; - for listening on its
# ports, for a provider's stand-in that has no such path)
SERVICES=(
  # intake serves the residents' pages (/report, /track, photos at /media): its links point at itself here, not at
  # the gateway's CIVICLOOP_PUBLIC_BASE_URL (one public host routes both in Kubernetes).
  "intake|8001|env CIVICLOOP_PUBLIC_BASE_URL=http://127.0.0.1:8001 civicloop-intake serve --host 127.0.0.1 --port 8001"
  "public-projections|8002|civicloop-projections serve --host 127.0.0.1 --port 8002"
  "open311-gateway|8003|civicloop-gateway serve --host 127.0.0.1 --port 8003"
  "open311-outbound|8005|civicloop-outbound run --host 127.0.0.1 --port 8005"
  "open311-poller|-|civicloop-outbound open311 run"
  "geo|8004|civicloop-geo serve --host 127.0.0.1 --port 8004"
  "notifier|8006|civicloop-notifier serve --host 127.0.0.1 --port 8006"
  "selfheal|8007|civicloop-selfheal serve --host 127.0.0.1 --port 8007"
)
# The demo county's back-ends (README.md, "The demo county's departments"; on with the local providers unless
# CIVICLOOP_LOCAL_DEMO=0): the demo work-order system and job system (civicloop_testing.demo_workorders) and, for the
# job system's CSV exports, the back-end adapter app on a configuration of the demo's own. A work order or job moves
# on every DEMO_STEP_S; the crews find a problem of their own every DEMO_OWN_EVERY_S.
DEMO_ON="${CIVICLOOP_LOCAL_DEMO:-${CIVICLOOP_LOCAL_PROVIDERS:-1}}"
WORKORDERS_PORT="${CIVICLOOP_LOCAL_WORKORDERS_PORT:-24084}"
# Where the demo's bodies reach the adapter app (its port below; a test's own run moves it).
DEMO_ADAPTERS_URL="${CIVICLOOP_LOCAL_DEMO_ADAPTERS_URL:-http://127.0.0.1:8010}"
DEMO_STEP_S="${CIVICLOOP_LOCAL_DEMO_STEP_S:-60}"
DEMO_OWN_EVERY_S="${CIVICLOOP_LOCAL_DEMO_OWN_EVERY_S:-600}"
demo="$run/demo"
if [ "$DEMO_ON" != 0 ]; then
  export CIVICLOOP_ADAPTERS_CONFIG="${CIVICLOOP_ADAPTERS_CONFIG:-$demo/adapters.yaml}"
fi
# The back-end adapter app runs when it has a configuration (docs/outbound.md, services/open311-gateway/backend-adapters).
if [ -n "${CIVICLOOP_ADAPTERS_CONFIG:-}" ]; then
  SERVICES+=("backend-adapters|8010|civicloop-backend-adapters serve --host 127.0.0.1 --port 8010")
fi
# Another list in the same format, one service a line (the supervisor's own tests run a throwaway service).
if [ -n "${CIVICLOOP_SERVICES_LIST:-}" ]; then
  mapfile -t SERVICES < <(grep -v '^[[:space:]]*\(#\|$\)' "$CIVICLOOP_SERVICES_LIST")
fi

# Local stand-ins for the providers the services send through (docs in each module of libs/testing), supervised like
# the services: Twilio's Messages API (texts read at /local/outbox), a web push service, the county's govDelivery
# account, and a mailbox keeping every mail as an .eml file under $run/mail. CIVICLOOP_LOCAL_PROVIDERS=0 leaves
# them out (a machine pointed at real providers). Ports may be moved with the variables below.
SMS_PORT="${CIVICLOOP_LOCAL_SMS_PORT:-24082}"
PUSH_PORT="${CIVICLOOP_LOCAL_PUSH_PORT:-24080}"
GOVDELIVERY_PORT="${CIVICLOOP_LOCAL_GOVDELIVERY_PORT:-24081}"
MAIL_SMTP_PORT="${CIVICLOOP_LOCAL_MAIL_SMTP_PORT:-24025}"
MAIL_WEB_PORT="${CIVICLOOP_LOCAL_MAIL_WEB_PORT:-24083}"
SMS_NUMBER="+15005550006"  # the county's sending number on the local Twilio account (SMS and WhatsApp)
GOVDELIVERY_ACCOUNT="DEMO"
GOVDELIVERY_USER="civicloop-api@demo.civicloop.example"
PROVIDERS_ON="${CIVICLOOP_LOCAL_PROVIDERS:-1}"
# The SMS provider is configuration: the local server of the one chosen (twilio unless set; empty for none).
SMS_PROVIDER="${CIVICLOOP_SMS_PROVIDER-twilio}"
if [ "$PROVIDERS_ON" != 0 ]; then
  # Secrets reach a command through supervisord's %(ENV_...)s, from the environment `start` exports: never written
  # into the configuration file.
  case "$SMS_PROVIDER" in
    # Texts "from a resident" (POST /local/inbound) go to the notifier's webhook, signed as Twilio signs.
    twilio) SERVICES+=("twilio|$SMS_PORT|python -m civicloop_testing.twilio_server --port $SMS_PORT --number $SMS_NUMBER --account-sid %(ENV_CIVICLOOP_SMS_ACCOUNT_SID)s --auth-token %(ENV_CIVICLOOP_SECRET_SMS_AUTH_TOKEN)s --inbound-webhook http://127.0.0.1:8006/webhooks/twilio/inbound|/local/outbox") ;;
    vonage) SERVICES+=("vonage|$SMS_PORT|python -m civicloop_testing.vonage_server --port $SMS_PORT --api-key %(ENV_CIVICLOOP_SMS_API_KEY)s --api-secret %(ENV_CIVICLOOP_SECRET_SMS_API_SECRET)s|/local/outbox") ;;
    "") ;;
    *) echo "services: no local server for the SMS provider '$SMS_PROVIDER' (twilio, vonage or empty)" >&2; exit 2 ;;
  esac
  SERVICES+=(
    "push-service|$PUSH_PORT|python -m civicloop_testing.push_service --port $PUSH_PORT|/received"
    "govdelivery|$GOVDELIVERY_PORT|python -m civicloop_testing.govdelivery_server --port $GOVDELIVERY_PORT --account $GOVDELIVERY_ACCOUNT --user $GOVDELIVERY_USER --password %(ENV_CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD)s --topics %(ENV_CIVICLOOP_LOCAL_GOVDELIVERY_TOPICS)s|-"
    "mailbox|$MAIL_WEB_PORT,$MAIL_SMTP_PORT|python -m civicloop_testing.mailbox serve --http-port $MAIL_WEB_PORT --smtp-port $MAIL_SMTP_PORT --dir $run/mail|/readyz"
  )
fi
if [ "$DEMO_ON" != 0 ]; then
  SERVICES+=("workorders|$WORKORDERS_PORT|python -m civicloop_testing.demo_workorders serve --port $WORKORDERS_PORT --state $demo/workorders.json --parks-exports $demo/parks-exports --step-s $DEMO_STEP_S --own-every-s $DEMO_OWN_EVERY_S|/readyz")
fi

# Seconds a service must stay up to count as started; a crash sooner is retried, then given up (FATAL).
START_SECONDS="${CIVICLOOP_SERVICE_START_SECONDS:-2}"
# Seconds from SIGTERM to SIGKILL when stopping a service.
STOP_SECONDS="${CIVICLOOP_SERVICE_STOP_SECONDS:-20}"
# Seconds a service may take to answer /readyz (imports and first connections are slow on a busy machine).
READY_SECONDS="${CIVICLOOP_SERVICE_READY_SECONDS:-180}"

log() { echo "services: $*" >&2; }

secret() {
  # Dev-only secrets, generated once per run directory; production sets them from its secret store.
  local file="$run/secrets/$1"
  mkdir -p "$run/secrets"; chmod 700 "$run/secrets"
  [ -s "$file" ] || python3 -c 'import secrets; print(secrets.token_hex(32))' >"$file"
  cat "$file"
}

staff_token_keys() {
  # Dev-only staff token keys (intake signs, every service verifies), made once per run directory; production sets
  # CIVICLOOP_SECRET_STAFF_TOKEN_SIGNING_KEY and _VERIFY_KEYS from its secret store (docs/staff.md).
  [ -n "${CIVICLOOP_SECRET_STAFF_TOKEN_SIGNING_KEY:-}" ] && return 0
  local file="$run/secrets/staff-token-keys"
  mkdir -p "$run/secrets"; chmod 700 "$run/secrets"
  [ -s "$file" ] || "$uv" run --frozen civicloop-staff new-token-key --kid local-dev >"$file"
  set -a; . "$file"; set +a
}

provider_settings() {
  # The local providers' settings, exported to every service in the one naming the services read
  # (libs/channels/README.md): SMS through the local Twilio, mail to the mailbox. A variable already set wins.
  [ "$PROVIDERS_ON" != 0 ] || return 0
  export CIVICLOOP_SMS_PROVIDER="$SMS_PROVIDER"
  case "$SMS_PROVIDER" in
    twilio)
      export CIVICLOOP_SMS_ACCOUNT_SID="${CIVICLOOP_SMS_ACCOUNT_SID:-AC$(secret twilio-account-sid | cut -c1-32)}"
      export CIVICLOOP_SECRET_SMS_AUTH_TOKEN="${CIVICLOOP_SECRET_SMS_AUTH_TOKEN:-$(secret twilio-auth-token)}"
      export CIVICLOOP_SMS_WHATSAPP_FROM="${CIVICLOOP_SMS_WHATSAPP_FROM:-$SMS_NUMBER}"
      # Delivery statuses come back to the notifier's webhook, signed over this (its public) URL.
      export CIVICLOOP_SMS_STATUS_CALLBACK_URL="${CIVICLOOP_SMS_STATUS_CALLBACK_URL:-http://127.0.0.1:8006/webhooks/twilio/status}" ;;
    vonage)
      export CIVICLOOP_SMS_API_KEY="${CIVICLOOP_SMS_API_KEY:-$(secret vonage-api-key | cut -c1-8)}"
      export CIVICLOOP_SECRET_SMS_API_SECRET="${CIVICLOOP_SECRET_SMS_API_SECRET:-$(secret vonage-api-secret)}" ;;
  esac
  if [ -n "$SMS_PROVIDER" ]; then
    export CIVICLOOP_SMS_SMS_FROM="${CIVICLOOP_SMS_SMS_FROM:-$SMS_NUMBER}"
    export CIVICLOOP_SMS_BASE_URL="${CIVICLOOP_SMS_BASE_URL:-http://127.0.0.1:$SMS_PORT}"
  fi
  # intake's own mail (staff reset links, residents' codes)
  export CIVICLOOP_STAFF_SMTP_HOST="${CIVICLOOP_STAFF_SMTP_HOST:-127.0.0.1}"
  export CIVICLOOP_STAFF_SMTP_PORT="${CIVICLOOP_STAFF_SMTP_PORT:-$MAIL_SMTP_PORT}"
  export CIVICLOOP_STAFF_SMTP_TLS="${CIVICLOOP_STAFF_SMTP_TLS:-none}"
  # The residents' mail, web push and the govDelivery feed, named after each sender's settings the same way.
  export CIVICLOOP_EMAIL_HOST="${CIVICLOOP_EMAIL_HOST:-127.0.0.1}"
  export CIVICLOOP_EMAIL_PORT="${CIVICLOOP_EMAIL_PORT:-$MAIL_SMTP_PORT}"
  export CIVICLOOP_EMAIL_MAIL_FROM="${CIVICLOOP_EMAIL_MAIL_FROM:-CivicLoop demo <no-reply@demo.civicloop.example>}"
  export CIVICLOOP_WEB_PUSH_VAPID_SUBJECT="${CIVICLOOP_WEB_PUSH_VAPID_SUBJECT:-mailto:no-reply@demo.civicloop.example}"
  export CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY="${CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY:-$(vapid_key)}"
  export CIVICLOOP_GOVDELIVERY_BASE_URL="${CIVICLOOP_GOVDELIVERY_BASE_URL:-http://127.0.0.1:$GOVDELIVERY_PORT}"
  export CIVICLOOP_GOVDELIVERY_ACCOUNT_CODE="${CIVICLOOP_GOVDELIVERY_ACCOUNT_CODE:-$GOVDELIVERY_ACCOUNT}"
  export CIVICLOOP_GOVDELIVERY_USERNAME="${CIVICLOOP_GOVDELIVERY_USERNAME:-$GOVDELIVERY_USER}"
  export CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD="${CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD:-$(secret govdelivery-password)}"
  # The notifier sends residents' messages through them (docs/notifier.md, "Providers"): texts (and WhatsApp, which
  # Vonage does not carry here) through the local SMS provider, mail to the mailbox, pushes to the push service.
  local sms_providers=""
  case "$SMS_PROVIDER" in
    twilio) sms_providers='"sms": "twilio", "whatsapp": "twilio", ' ;;
    vonage) sms_providers='"sms": "vonage", ' ;;
  esac
  # Residents' replies to the notifier's emails reach its own SMTP listener (docs/notifier.md, "Conversations").
  export CIVICLOOP_NOTIFIER_REPLY_DOMAIN="${CIVICLOOP_NOTIFIER_REPLY_DOMAIN:-reply.demo.civicloop.example}"
  export CIVICLOOP_NOTIFIER_REPLY_SMTP_PORT="${CIVICLOOP_NOTIFIER_REPLY_SMTP_PORT:-24026}"
  if [ -z "${CIVICLOOP_NOTIFIER_PROVIDERS:-}" ]; then
    export CIVICLOOP_NOTIFIER_PROVIDERS="{${sms_providers}\"email\": \"smtp\", \"push\": \"webpush\"}"
  fi
  # The topics the local account has: one per category of the demo catalogue and per demo district.
  export CIVICLOOP_LOCAL_GOVDELIVERY_TOPICS="${CIVICLOOP_LOCAL_GOVDELIVERY_TOPICS:-$("$uv" run --frozen python "$here/seed_demo.py" govdelivery-topics --account "$GOVDELIVERY_ACCOUNT" | tr '\n' ' ')}"
}

demo_settings() {
  # The demo's back-ends: the adapter app's configuration (the job system's CSV drop directory as a CSV feed),
  # outbound's mail to the mailbox (the Sanitation Bureau's reports), and the demo's bodies and routing rules on the
  # log, defined before the services start (so the first reports are routed to them) and never twice. A variable
  # already set wins.
  [ "$DEMO_ON" != 0 ] || return 0
  # Water & Parks' job system checks the webhook's signature (outbound signs with the secret the body names).
  export CIVICLOOP_SECRET_DEMO_PARKS_WEBHOOK="${CIVICLOOP_SECRET_DEMO_PARKS_WEBHOOK:-$(secret demo-parks-webhook)}"
  "$uv" run --frozen python "$here/seed_demo.py" bodies --workorders-url "http://127.0.0.1:$WORKORDERS_PORT" \
      --adapters-url "$DEMO_ADAPTERS_URL" --poll-interval-s "${CIVICLOOP_LOCAL_DEMO_POLL_S:-30}" >&2 \
    || log "the demo's bodies were not defined (the output above); the services run without them"
  mkdir -p "$demo/parks-exports"
  if [ "$CIVICLOOP_ADAPTERS_CONFIG" = "$demo/adapters.yaml" ]; then
    cat >"$demo/adapters.yaml" <<YAML
# Written by deploy/local/services.sh for the demo: Water & Parks' job system exports its changes as CSV.
jurisdictions:
  parks-jobs:
    type: csv_feed
    directory: $demo/parks-exports
    columns: {external_id: Job Ref, status: Status, timestamp: Changed At, comment: Notes}
    status_map:
      Logged: open
      In Hand: {status: open, external_status_code: in_hand}
      Completed: closed
    services:
      - {service_code: water-waste, service_name: Report Water Waste}
      - {service_code: encampment, service_name: Homeless Encampment}
YAML
  fi
  if [ "$PROVIDERS_ON" != 0 ]; then
    export CIVICLOOP_SMTP_HOST="${CIVICLOOP_SMTP_HOST:-127.0.0.1}"
    export CIVICLOOP_SMTP_PORT="${CIVICLOOP_SMTP_PORT:-$MAIL_SMTP_PORT}"
    export CIVICLOOP_SMTP_TLS="${CIVICLOOP_SMTP_TLS:-none}"
    export CIVICLOOP_MAIL_FROM="${CIVICLOOP_MAIL_FROM:-CivicLoop demo <reports@demo.civicloop.example>}"
  fi
}

vapid_key() {
  # A dev-only VAPID key pair (P-256), made once per run directory: the private key's 32 bytes, base64url.
  local file="$run/secrets/vapid-private-key"
  mkdir -p "$run/secrets"; chmod 700 "$run/secrets"
  [ -s "$file" ] || "$uv" run --frozen python -c '
import base64
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
print(base64.urlsafe_b64encode(key).rstrip(b"=").decode())' >"$file"
  cat "$file"
}

ctl() { "$uv" run --frozen supervisorctl -c "$conf" "$@"; }

supervisor_alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# The ports of an entry's port field, one a line (none for -).
ports_of() { [ "$1" = "-" ] || tr ',' '\n' <<<"$1"; }

# The pid listening on 127.0.0.1:$1, empty when nothing listens.
listener_pid() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o "pid=[0-9]*" | head -n 1 | cut -d= -f2 || true; }

# "STATE PID" of a supervised service, e.g. "RUNNING 1234" or "BACKOFF 0" (supervisorctl's status line, parsed).
service_status() {
  ctl status "$1" 2>/dev/null | awk '{pid = 0; for (i = 3; i < NF; i++) if ($i == "pid") pid = $(i + 1) + 0; print $2, pid}' || true
}

write_config() {
  mkdir -p "$run/logs"
  {
    cat <<CONF
[unix_http_server]
file=$run/supervisor.sock
chmod=0700

[supervisord]
logfile=$run/logs/supervisord.log
pidfile=$pidfile
directory=$root
identifier=civicloop

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$run/supervisor.sock
CONF
    local entry name port cmd _ready
    for entry in "${SERVICES[@]}"; do
      IFS='|' read -r name port cmd _ready <<<"$entry"
      cat <<CONF

[program:$name]
command=$cmd
autostart=true
autorestart=true
startsecs=$START_SECONDS
startretries=3
stopsignal=TERM
stopwaitsecs=$STOP_SECONDS
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$run/logs/$name.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=2
CONF
    done
  } >"$conf"
}

# A port held by a process this supervisor did not start (a stray copy, another checkout) would answer /readyz for a
# copy that cannot bind: refuse to start rather than report that copy as ready.
check_port_free() {
  local name="$1" port holder
  for port in $(ports_of "$2"); do
    holder="$(listener_pid "$port")"
    if [ -n "$holder" ]; then
      log "$name: port $port is taken by pid $holder ($(ps -o args= -p "$holder" | cut -c1-80)), not started by this run directory; stop it first"
      return 1
    elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      log "$name: port $port is taken by a process not started by this run directory; stop it first"
      return 1
    fi
  done
}

fail_start() {
  local name="$1"; shift
  tail -n 30 "$run/logs/$name.log" >&2 2>/dev/null || true
  log "$name: $*"
  return 1
}

# Whether an HTTP service answers: its ready path on its first port (with - for the path: every port listens).
answers() {
  local ports="$1" ready="${2:-/readyz}" port
  if [ "$ready" = "-" ]; then
    for port in $(ports_of "$ports"); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1; done
    return 0
  fi
  curl -fsS -m 2 "http://127.0.0.1:${ports%%,*}$ready" >/dev/null 2>&1
}

# Ready means: supervised and running, and (for an HTTP service) its ready path answered by the supervised process
# itself, the one listening on each of its ports.
wait_ready() {
  local name="$1" ports="$2" ready="${3:-}" deadline=$((SECONDS + READY_SECONDS)) state pid port holder held
  local worker_pid="" worker_since=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    read -r state pid <<<"$(service_status "$name")"
    case "$state" in
      FATAL | EXITED | STOPPED | ERROR) fail_start "$name" "not running (supervisor state $state)"; return 1 ;;
    esac
    if [ "$state" = RUNNING ] && [ "${pid:-0}" != 0 ]; then
      if [ "$ports" = "-" ]; then
        # No /readyz to ask: the same process still running a while after supervisord counted it started.
        [ -z "${worker_pid:-}" ] && worker_pid="$pid" worker_since="$SECONDS"
        [ "$pid" != "$worker_pid" ] && worker_pid="$pid" worker_since="$SECONDS"
        [ $((SECONDS - worker_since)) -ge "$START_SECONDS" ] && return 0
        sleep 0.25; continue
      fi
      held=1
      for port in $(ports_of "$ports"); do
        holder="$(listener_pid "$port")"
        if [ -n "$holder" ] && [ "$holder" != "$pid" ]; then
          fail_start "$name" "port $port is held by pid $holder, not by the supervised pid $pid"; return 1
        fi
        [ "$holder" = "$pid" ] || held=0
      done
      if [ "$held" = 1 ] && answers "$ports" "$ready"; then return 0; fi
    fi
    sleep 0.25
  done
  fail_start "$name" "not ready within $READY_SECONDS s"
}

start() {
  mkdir -p "$run/logs"
  export CIVICLOOP_VAULT_PEPPER="${CIVICLOOP_VAULT_PEPPER:-$(secret vault-pepper)}"
  export CIVICLOOP_PUBLIC_BASE_URL="${CIVICLOOP_PUBLIC_BASE_URL:-http://127.0.0.1:8003}"
  export CIVICLOOP_DEFAULT_JURISDICTION_ID="${CIVICLOOP_DEFAULT_JURISDICTION_ID:-demo}"
  # The notifier's reports by text message reach geo's public geocode and intake's submission route (docs/notifier.md).
  export CIVICLOOP_NOTIFIER_GEO_URL="${CIVICLOOP_NOTIFIER_GEO_URL:-http://127.0.0.1:8004}"
  export CIVICLOOP_NOTIFIER_INTAKE_URL="${CIVICLOOP_NOTIFIER_INTAKE_URL:-http://127.0.0.1:8001}"
  # The report page's address search asks geo's public geocode through intake (docs/residents.md).
  export CIVICLOOP_PAGES_GEO_URL="${CIVICLOOP_PAGES_GEO_URL:-http://127.0.0.1:8004}"
  # The report map's basemap: none by default (no tile server on a machine without internet): the service areas are
  # drawn on a plain background. Set a tile URL template to have one (docs/residents.md, "Map").
  export CIVICLOOP_MAP_TILE_URL="${CIVICLOOP_MAP_TILE_URL:-}"
  # The agent console (intake's /console) reads the agent view and asks the notifier who an action would notify.
  export CIVICLOOP_CONSOLE_PROJECTIONS_URL="${CIVICLOOP_CONSOLE_PROJECTIONS_URL:-http://127.0.0.1:8002}"
  export CIVICLOOP_CONSOLE_NOTIFIER_URL="${CIVICLOOP_CONSOLE_NOTIFIER_URL:-http://127.0.0.1:8006}"
  # Its admin pages act through selfheal (run now), outbound (bodies) and the gateway (catalogue, partners' keys).
  export CIVICLOOP_ADMIN_SELFHEAL_URL="${CIVICLOOP_ADMIN_SELFHEAL_URL:-http://127.0.0.1:8007}"
  export CIVICLOOP_ADMIN_OUTBOUND_URL="${CIVICLOOP_ADMIN_OUTBOUND_URL:-http://127.0.0.1:8005}"
  export CIVICLOOP_ADMIN_GATEWAY_URL="${CIVICLOOP_ADMIN_GATEWAY_URL:-http://127.0.0.1:8003}"
  staff_token_keys  # every service verifies staff tokens (intake signs them) and will not start without the key set
  # selfheal's cron token (a cron runner calls POST /api/cron/self-heal with it); intake takes it too, for
  # selfheal's request to sweep what its outboxes left pending (docs/selfheal.md).
  export CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN="${CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN:-$(secret selfheal-cron-token)}"
  export CIVICLOOP_SELFHEAL_INTAKE_URL="${CIVICLOOP_SELFHEAL_INTAKE_URL:-http://127.0.0.1:8001}"
  provider_settings
  demo_settings
  local entry name port _cmd _ready
  if supervisor_alive; then
    # Already supervising: apply a changed service list (supervisord adds, removes or restarts only the services
    # whose entry changed), then start only what is not running (one given up after repeated crashes, say).
    write_config
    ctl update >/dev/null
    for entry in "${SERVICES[@]}"; do
      IFS='|' read -r name port _cmd _ready <<<"$entry"
      case "$(service_status "$name")" in
        RUNNING* | STARTING* | BACKOFF*) ;;
        *) check_port_free "$name" "$port"; ctl start "$name" >/dev/null || true ;;
      esac
    done
  else
    for entry in "${SERVICES[@]}"; do
      IFS='|' read -r name port _cmd _ready <<<"$entry"
      check_port_free "$name" "$port"
    done
    write_config
    # supervisord puts itself in the background and writes its own pid file; under `uv run` it and every service it
    # starts find the workspace's console scripts on PATH.
    "$uv" run --frozen supervisord -c "$conf"
    local deadline=$((SECONDS + 30))
    until ctl pid >/dev/null 2>&1; do
      [ "$SECONDS" -lt "$deadline" ] || { log "supervisord did not answer within 30 s ($run/logs/supervisord.log)"; exit 1; }
      sleep 0.1
    done
  fi
  local failed=0 ready
  for entry in "${SERVICES[@]}"; do
    IFS='|' read -r name port _cmd ready <<<"$entry"
    wait_ready "$name" "$port" "$ready" || failed=1
  done
  [ "$failed" = 0 ] || { log "not every service started; \`$0 status\` tells, \`$0 stop\` stops them"; exit 1; }
  log "every service is running under supervisord (pid $(cat "$pidfile"))"
}

# Services started by this script before it used a supervisor left a pid file each (the `uv run` wrapper's pid).
stop_unsupervised() {
  local file pid
  for file in "$run"/services/*.pid; do
    [ -f "$file" ] || continue
    pid="$(cat "$file")"
    # Only if that pid is still the wrapper of a service (a pid can be reused by anything since).
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "run --frozen civicloop-"; then
      pkill -TERM -P "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
  done
}

stop() {
  stop_unsupervised
  if ! supervisor_alive; then rm -f "$pidfile"; return 0; fi
  local pid; pid="$(cat "$pidfile")"
  # supervisord sends each service SIGTERM (its process group), SIGKILL after STOP_SECONDS, then exits itself.
  ctl shutdown >/dev/null
  local deadline=$((SECONDS + STOP_SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { log "supervisord (pid $pid) still running; see $run/logs/supervisord.log"; exit 1; }
    sleep 0.1
  done
  log "stopped every service and supervisord"
}

status() {
  if ! supervisor_alive; then echo "supervisord: down"; return 3; fi
  local entry name port _cmd ready state pid
  for entry in "${SERVICES[@]}"; do
    IFS='|' read -r name port _cmd ready <<<"$entry"
    read -r state pid <<<"$(service_status "$name")"
    if [ "$port" = "-" ] || [ "$state" != RUNNING ]; then echo "$name: $state (pid $pid)"
    elif answers "$port" "$ready"; then echo "$name: ready on :$port (pid $pid)"
    else echo "$name: running, not ready on :$port (pid $pid)"; fi
  done
}

demo_agent() {
  # The demo agent (never in production), created once: its password and TOTP secret are made for this run directory
  # and kept in its secrets/. The CLI gets the environment `start` gives intake (the same pepper finds the account).
  # An account another checkout made on this database is left as it is: the CLI says so, and `make run` goes on.
  (
    export CIVICLOOP_VAULT_PEPPER="${CIVICLOOP_VAULT_PEPPER:-$(secret vault-pepper)}"
    export CIVICLOOP_PUBLIC_BASE_URL="${CIVICLOOP_PUBLIC_BASE_URL:-http://127.0.0.1:8003}"
    export CIVICLOOP_DEFAULT_JURISDICTION_ID="${CIVICLOOP_DEFAULT_JURISDICTION_ID:-demo}"
    staff_token_keys
    mkdir -p "$run/logs"
    # Its log lines (JSON, on standard output) stay out of the welcome text unless they warn.
    CIVICLOOP_LOG_LEVEL=WARNING "$uv" run --frozen civicloop-intake staff seed-demo --jurisdiction demo --base-url http://127.0.0.1:8001 \
        --secrets-dir "$run/secrets" 2>"$run/logs/demo-agent.log"
  ) || { log "the demo agent was not created ($run/logs/demo-agent.log); the services run without it"; return 0; }
  cat <<'MSG'
It is an agent, a supervisor and the demo county's admin: sign in to http://127.0.0.1:8001/console with that
password and the TOTP code (uv run python -c 'import pyotp; print(pyotp.TOTP(open(".run/secrets/demo-agent-totp-secret").read().strip()).now())').
Or, with $TOKEN, acknowledge an open request:
  NUMBER=$(curl -s -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8002/api/v1/agent/requests?status=open&limit=1' \
           | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["request_number"])')
  curl -s -X POST http://127.0.0.1:8001/api/v1/agent/requests/$NUMBER/acknowledge -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' -d '{"public_note": "Thank you, a crew will look at it this week."}'
  (docs/agents.md lists every command: assign, comment, schedule, close with a reason, reopen, ...)
MSG
}

# Where a newcomer reads what the local providers were sent (part of the welcome).
providers_welcome() {
  [ "$PROVIDERS_ON" != 0 ] || return 0
  echo 'Local providers (nothing leaves this machine; README.md, "Local providers"):'
  echo "  mailbox             http://127.0.0.1:$MAIL_WEB_PORT/   every mail sent to SMTP 127.0.0.1:$MAIL_SMTP_PORT, as .eml in $run/mail/"
  echo "                      uv run python -m civicloop_testing.mailbox list --dir $run/mail   (--show <file>)"
  if [ -n "$SMS_PROVIDER" ]; then
    echo "  SMS outbox          http://127.0.0.1:$SMS_PORT/local/outbox   texts sent through the local $SMS_PROVIDER (from $SMS_NUMBER)"
  fi
  echo "  web push            http://127.0.0.1:$PUSH_PORT/received   pushes the local push service decrypted"
  echo "  govDelivery         http://127.0.0.1:$GOVDELIVERY_PORT/api/account/$GOVDELIVERY_ACCOUNT/bulletins/sent.xml   (user $GOVDELIVERY_USER, password in $run/secrets/govdelivery-password)"
}

# Where a newcomer sees each of the demo county's departments get its reports and answer (part of the welcome).
demo_welcome() {
  [ "$DEMO_ON" != 0 ] || return 0
  echo 'The demo county'"'"'s departments (deploy/local/seed_demo.py; README.md, "The demo county'"'"'s departments"):'
  echo "  Sanitation Bureau   by email             the mailbox (to sanitation@demo.civicloop.example): bulky items, dumping, appliances, ..."
  echo "  Street Services     by Open311           http://127.0.0.1:$WORKORDERS_PORT/   its own list of work orders: potholes, graffiti, street lights"
  echo "                      each work order moves on every $DEMO_STEP_S s (assigned, fixed); its crews find a problem of their own every $DEMO_OWN_EVERY_S s"
  echo "  Water & Parks       by webhook + CSV     its job system's export: $demo/parks-exports/jobs.csv   (water waste, encampments)"
  echo "                      heard back through the CSV feed of the adapter app (http://127.0.0.1:8010/open311/v2/servicerequestupdates.json?jurisdiction_id=parks-jobs)"
  echo "  uv run civicloop-outbound status   (what each body was sent)    uv run civicloop-outbound open311 status   (what was heard back)"
}

welcome() {
  local kafka="${CIVICLOOP_KAFKA_BOOTSTRAP:-127.0.0.1:21092}" pg="${CIVICLOOP_PG_DSN:-postgresql://postgres@127.0.0.1:21432/civicloop}"
  "$uv" run --frozen python "$here/seed_demo.py" requests --intake http://127.0.0.1:8001
  local key_file="$run/secrets/demo-partner-key"
  if [ ! -s "$key_file" ]; then
    "$uv" run --frozen civicloop-gateway partners create --jurisdiction demo --client-id demo-app \
        --name "Demo partner app" | grep -E '^o311_' >"$key_file"
  fi
  local partner_key; partner_key="$(cat "$key_file")"
  local agent; agent="$(demo_agent)"
  local providers; providers="$(providers_welcome)"
  local demo_text; demo_text="$(demo_welcome)"
  cat <<MSG

CivicLoop is running (jurisdiction "demo"):
  intake              http://127.0.0.1:8001   (OpenAPI: http://127.0.0.1:8001/docs)
  report a problem    http://127.0.0.1:8001/report   track it: http://127.0.0.1:8001/track   (residents' pages, en/es)
  agent console       http://127.0.0.1:8001/console   admin pages: http://127.0.0.1:8001/console/admin   (sign in as the demo agent below)
  public page         http://127.0.0.1:8002/public   (the transparency page, no personal data)
  follow one request  README.md, "Follow one request in the browser"; make walkthrough does it in chromium
  public-projections  http://127.0.0.1:8002   (OpenAPI: http://127.0.0.1:8002/docs)
  open311-gateway     http://127.0.0.1:8003/open311/v2/discovery.json   (OpenAPI: http://127.0.0.1:8003/docs)
  geo                 http://127.0.0.1:8004   (OpenAPI: http://127.0.0.1:8004/docs)
  outbound            http://127.0.0.1:8005/readyz   uv run civicloop-outbound status   (bodies, queues, pauses)
  notifier            http://127.0.0.1:8006   (OpenAPI: http://127.0.0.1:8006/docs)   residents hear back (docs/notifier.md)
  selfheal            http://127.0.0.1:8007   (OpenAPI: http://127.0.0.1:8007/docs)   nothing stays stuck (docs/selfheal.md)
  Kafka               $kafka         PostgreSQL + PostGIS  $pg
  logs                $run/logs/   processes: deploy/local/services.sh status
$providers
$demo_text

Try:
  curl -s -X POST http://127.0.0.1:8001/api/v1/requests -H 'Content-Type: application/json' \\
       -H 'Idempotency-Key: try-1' \\
       -d '{"service_code":"pothole","description":"Deep pothole","lat":34.0522,"long":-118.2437,
            "contact":{"phone":"+1 213 555 0100"},"preferred_channel":"sms"}'
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8002/api/v1/agent/requests/<request_number>   (\$TOKEN: below)
  curl -s -X POST http://127.0.0.1:8001/api/v1/track -H 'Content-Type: application/json' \\
       -d '{"number":"<request_number>","phone":"+1 213 555 0100"}'
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:8004/api/v1/geocode?jurisdiction_id=demo&q=2111+W+Bellvue+Ave'
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:8004/api/v1/areas/stats?jurisdiction_id=demo'
  curl -s 'http://127.0.0.1:8004/api/v1/public/heatmap?jurisdiction_id=demo&resolution=7'
  curl -s http://127.0.0.1:8003/open311/v2/services.xml
  curl -s -X POST http://127.0.0.1:8003/open311/v2/requests.json -d api_key=$partner_key \\
       -d service_code=graffiti -d lat=34.0522 -d long=-118.2437 -d description='Tag on the wall'
  curl -s -X POST http://127.0.0.1:8007/api/cron/self-heal -H "CivicLoop-Cron-Token: \$(cat $run/secrets/selfheal-cron-token)"
Demo partner API key (client demo-app): $partner_key

$agent
Stop the services with: make stop   (and Kafka and PostgreSQL too: make down)
MSG
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  welcome) welcome ;;
  providers) providers_welcome ;;
  demo) demo_welcome ;;
  ctl) shift; ctl "$@" ;;
  *) echo "usage: $0 start|stop|status|welcome|providers|demo|ctl <supervisorctl arguments>" >&2; exit 2 ;;
esac
