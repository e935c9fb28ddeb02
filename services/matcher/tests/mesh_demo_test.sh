#!/usr/bin/env bash
# The whole mesh on the demo: chainwatch replay -> normalizer -> watermark -> matcher -> alerter
# -> chainwatch alerts tail, against a real nats-server; the alerts are hunt's four detections.
# Env: SOURCE_DIR, BIN (dir of the chainwatch-* binaries), CHAINWATCH (the CLI).
set -euo pipefail
cd "$SOURCE_DIR"
command -v nats-server >/dev/null || { echo "nats-server not installed: skipped"; exit 77; }
for b in "$BIN"/chainwatch-{normalizer,watermark,matcher,alerter} "$CHAINWATCH"; do
  [[ -x $b ]] || { echo "$b not built: skipped"; exit 77; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
  # Services first (they hand over and checkpoint into NATS), the server last.
  for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:1}"; do wait "$p" 2>/dev/null || true; done
  kill -TERM "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Polls a condition for up to $1 seconds.
until_true() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

port=$(free_port); mon=$(free_port)
nats-server -js -a 127.0.0.1 -p "$port" -m "$mon" -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
pids+=($!)
url="nats://127.0.0.1:$port"
until_true 30 bash -c "</dev/tcp/127.0.0.1/$port" 2>/dev/null || { echo "nats-server did not start"; exit 1; }

for s in normalizer watermark matcher alerter; do
  "$BIN/chainwatch-$s" --common.nats_url "$url" --common.metrics_address "" >"$tmp/$s.log" 2>&1 &
  pids+=($!)
done
"$CHAINWATCH" alerts tail --nats "$url" --customer demo --count 4 --timeout 240s --json \
  >"$tmp/alerts.ndjson" 2>"$tmp/tail.err" &
tail_pid=$!
# Replay only once the tail's subscription is registered at the server.
until_true 60 bash -c "curl -sf 'http://127.0.0.1:$mon/connz?subs=1' | grep -q 'cw.alerts.demo.'" \
  || {
    echo "alerts tail did not subscribe (tail $(kill -0 "$tail_pid" 2>/dev/null && echo running || echo exited))"
    for f in "$tmp/tail.err" "$tmp/nats.log"; do echo "== $f"; tail -n 20 "$f"; done
    curl -s "http://127.0.0.1:$mon/connz?subs=1" | head -c 2000; exit 1
  }
"$CHAINWATCH" replay --nats "$url" --customer demo --source ecs --no-progress tests/data/demo.ndjson

status=0
wait "$tail_pid" || status=$?
if [[ $status -ne 0 ]]; then
  echo "alerts tail exited $status"; for f in "$tmp"/*.log "$tmp/tail.err"; do echo "== $f"; tail -n 20 "$f"; done
  exit 1
fi
[[ $(wc -l <"$tmp/alerts.ndjson") -eq 4 ]] || { echo "expected 4 alerts"; cat "$tmp/alerts.ndjson"; exit 1; }
grep -q '"id":"5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01".*"key":\["svc-backup"\]' "$tmp/alerts.ndjson" \
  || { echo "brute force on svc-backup missing"; cat "$tmp/alerts.ndjson"; exit 1; }
grep -q '"id":"9b7f3c1d-2e4a-4b8c-8d6e-3a1f5e7c9d02".*"key":\["10.20.0.16"\]' "$tmp/alerts.ndjson" \
  || { echo "download-then-POST missing"; cat "$tmp/alerts.ndjson"; exit 1; }
# Six events of evidence in the brute force, as hunt binds them.
bf=$(grep 5d2c8a4e "$tmp/alerts.ndjson" | grep -o '"@timestamp"' | wc -l)
[[ $bf -eq 6 ]] || { echo "brute force has $bf evidence events, expected 6"; exit 1; }
echo "mesh_demo: ok"
