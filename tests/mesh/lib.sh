# Shared helpers of the tests/mesh/*_test.sh scripts (sourced, not run).
# Env: SOURCE_DIR (repo), CHAINWATCH (the CLI; its directory holds the chainwatch-* services).
set -euo pipefail
cd "$SOURCE_DIR"
skip() { echo "SKIPPED: $*"; exit 77; }
command -v nats-server >/dev/null || skip "nats-server not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v python3 >/dev/null || skip "python3 not installed"
BIN=${BIN:-$(dirname "$CHAINWATCH")}
for b in "$BIN"/chainwatch-{ingestor,normalizer,watermark,matcher,alerter} "$CHAINWATCH"; do
  [[ -x $b ]] || skip "$b not built"
done

tmp=$(mktemp -d)
mesh_up=0
extra_pids=()
cleanup() {
  local rc=$?
  for p in "${extra_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${extra_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if ((mesh_up)); then
    if ((rc != 0 && rc != 77)); then
      for f in "$tmp"/run/*.log; do echo "== $f"; tail -n 15 "$f"; done
    fi
    CHAINWATCH_BIN=$BIN scripts/mesh down --run-dir "$tmp/run" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

# need_npm_registry: skips at once when npm's registry does not answer (npm ci itself retries
# for over a minute before it gives up).
need_npm_registry() {
  local reg
  reg=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
  curl -s -m 5 -o /dev/null "$reg" || skip "the npm registry ($reg) does not answer"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# until_true SECONDS cmd...: polls cmd every 0.2 s until it succeeds or the deadline passes.
until_true() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
# Metrics ports of one mesh are consecutive from a free base; probe that the whole range is free.
# The base is below the kernel's ephemeral range (ip_local_port_range, 32768+ here), so the
# outgoing connections the services open while starting cannot take one of its ports between
# the probe and the bind.
free_base() {
  python3 - <<'P'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
while True:
    base = random.randint(10000, max(10001, low - 16))
    ok = True
    for p in range(base, base + 8):
        t = socket.socket()
        try: t.bind(("127.0.0.1", p))
        except OSError: ok = False
        finally: t.close()
    if ok: print(base); break
P
}
# mesh_start [scripts/mesh up options...]: the mesh on free ports in $tmp/run; sets NATS_URL, MON,
# SYSLOG_PORT (the ingestor's TCP/UDP listener, customer default, source syslog).
mesh_start() {
  local port mon syslog base
  port=$(free_port); mon=$(free_port); syslog=$(free_port); base=$(free_base)
  # Only the mapping tables the test uses (MESH_SOURCES), so a table for another source that a
  # stale service binary cannot load does not stop the normalizer.
  # MESH_SOURCES_DIR (optional) replaces config/sources as the origin of those tables.
  mkdir -p "$tmp/sources"
  local t; for t in ${MESH_SOURCES:-windows}; do cp "${MESH_SOURCES_DIR:-config/sources}/$t.toml" "$tmp/sources/"; done
  export CHAINWATCH_NORMALIZER_NORMALIZER_SOURCES_DIR=$tmp/sources
  mesh_up=1
  CHAINWATCH_BIN=$BIN scripts/mesh up --run-dir "$tmp/run" --nats-port "$port" --monitor-port "$mon" \
    --metrics-base "$base" --syslog-port "$syslog" "$@" >"$tmp/mesh_up.out" 2>&1 \
    || { cat "$tmp/mesh_up.out"; return 1; }
  NATS_URL=nats://127.0.0.1:$port
  MON=http://127.0.0.1:$mon
  SYSLOG_PORT=$syslog
}
# metrics_addr INSTANCE: host:port of a service's /metrics (ingestor, normalizer, watermark,
# matcher-1.., alerter), from the list scripts/mesh writes.
metrics_addr() { sed -n "s/^$1=//p" "$tmp/run/metrics"; }
# metric INSTANCE NAME [LABEL_TEXT]: sum of the samples of metric NAME (whose labels contain
# LABEL_TEXT, e.g. 'customer="acme"') at INSTANCE's /metrics; prints nothing when there is none.
metric() {
  curl -sf "http://$(metrics_addr "$1")/metrics" \
    | awk -v n="$2" -v l="${3:-}" '
        ($1 == n || index($1, n "{") == 1) && (l == "" || index($1, l)) { s += $2; f = 1 }
        END { if (f) printf "%.17g\n", s }'
}
# subscribed SUBJECT_FRAGMENT: a client subscription containing it is registered at the server.
# (nats-server's JSON escapes '>' as \u003e: pass the part before any wildcard.)
subscribed() { curl -sf "$MON/connz?subs=1" | grep -qF "$1"; }
# stream_msgs STREAM: message count of a JetStream stream (0 if it does not exist yet).
stream_msgs() {
  curl -sf "$MON/jsz?streams=1" | python3 -c '
import json, sys
d = json.load(sys.stdin); n = 0
for a in d.get("account_details", []):
    for s in a.get("stream_detail", []):
        if s["name"] == sys.argv[1]: n = s["state"]["messages"]
print(n)' "$1"
}
# mesh_alive: every service of the mesh still runs (a zombie counts as dead).
mesh_alive() {
  local f st
  for f in "$tmp"/run/*.pid; do
    st=$(ps -o stat= -p "$(cat "$f")" 2>/dev/null) || { echo "$(basename "$f" .pid) exited"; return 1; }
    [[ $st != Z* ]] || { echo "$(basename "$f" .pid) exited"; return 1; }
  done
}
# wait_client PID SECONDS: waits for a client process to exit while the mesh stays alive;
# returns the client's status (124 on timeout, 125 when a service died).
wait_client() {
  local pid=$1 deadline=$((SECONDS + $2)) rc=0
  while kill -0 "$pid" 2>/dev/null; do
    mesh_alive || return 125
    ((SECONDS < deadline)) || return 124
    sleep 0.2
  done
  wait "$pid" || rc=$?
  return "$rc"
}
