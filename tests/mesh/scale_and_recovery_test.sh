#!/usr/bin/env bash
# Scale-out and fault tolerance (issue 5): the alert set of each scenario equals `chainwatch
# hunt` over the same data (the uninterrupted single-process run), and the CW_ALERTS stream holds
# each alert exactly once. Data: tests/mesh/gen_brute_force.py (300 brute-force chains whose
# failures and success are spread over the stream, so every interruption lands with chains half
# built), replayed at a steady rate. Scenarios (SCENARIOS, default all):
#   three     3 matchers from the start;
#   scale     1 matcher, scaled to 3 at ~30% of the stream and to 2 at ~65%;
#   kill      kill -9 of matcher-1 (of 2) at ~45%, restarted at once;
#   services  kill -9 and restart of the normalizer, watermark, alerter and ingestor in turn;
#   nats      nats-server stopped (SIGTERM) at ~40% while the replay is publishing and restarted
#             on its store (the replay and every service reconnect; what was not stored is sent
#             again). Not kill -9: a single nats-server 2.9 acknowledges JetStream writes before
#             its file store flushes them, so a kill -9 can lose the last acknowledged messages;
#             production runs a JetStream cluster with replicated streams for that.
# Interruptions are triggered by the watermark service's consumed-events counter, not by time.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
scenarios=${SCENARIOS:-three scale kill services nats}
lines=2400
python3 tests/mesh/gen_brute_force.py "$tmp/bf.ndjson" 300 7
[[ $(wc -l <"$tmp/bf.ndjson") -eq $lines ]] || { echo "generator changed: fix lines"; exit 1; }
# The bundled rules, and aggregate rules whose state must survive the same interruptions: a
# threshold with a distinct count (failures on dc1 against 3+ accounts, counted events consumed
# by each alert) and a new_terms rule (each account's first success from its address).
rules=$tmp/rules; mkdir -p "$rules"
cp config/rules/*.toml tests/mesh/rules/threshold_password_spray.toml \
  tests/mesh/rules/new_terms_logon_source.toml "$rules/"
"$CHAINWATCH" hunt --rules "$rules" "$tmp/bf.ndjson" >"$tmp/hunt.ndjson" 2>/dev/null
python3 tests/mesh/alertset.py hunt "$tmp/hunt.ndjson" >"$tmp/want"
want=$(wc -l <"$tmp/want")
per_rule() { grep -c "^$1	" "$tmp/want" || true; }
(($(per_rule 5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01) == 300)) || { echo "hunt: want 300 brute-force alerts"; exit 1; }
(($(per_rule 00000000-1175-4e57-a000-000000000006) > 100)) || { echo "hunt: too few threshold alerts"; exit 1; }
(($(per_rule 00000000-1175-4e57-a000-000000000007) >= 300)) || { echo "hunt: too few new_terms alerts"; exit 1; }

export CHAINWATCH_ALERTER_ALERTER_SUPPRESS_WINDOW=0 # every match is an alert, as in hunt
# hunt's lateness. The replay compresses 10 minutes of event time into 16 s, so a stall of a
# second or two around a restart (a nak'ed batch redelivered after newer ones) is a minute of
# event time: a 5 s lateness would turn it into late events, which is the watermark doing its
# job, not a recovery fault.
export CHAINWATCH_WATERMARK_WATERMARK_LATENESS=5m
export CHAINWATCH_MATCHER_MATCHER_LEASE=3s CHAINWATCH_MATCHER_MATCHER_CHECKPOINT_INTERVAL=500ms
mesh() { CHAINWATCH_BIN=$BIN scripts/mesh "$@" --run-dir "$tmp/run" >>"$tmp/mesh_ops.out" 2>&1; }
# Events the watermark service consumed, across its restarts (wm_base: counted by killed ones).
wm_base=0
consumed() { local n; n=$(metric watermark chainwatch_watermark_events_in_total || true); n=${n:-0}; echo $((wm_base + ${n%.*})); }
# at FRACTION: waits until the watermark service consumed that share of the stream.
need=0
enough() { (($(consumed) >= need)); }
at() {
  need=$(python3 -c "print(int($1 * $lines))")
  until_true 60 enough \
    || { echo "stream stalled before $1 (consumed $(consumed))"; return 1; }
}
# Every consumer of CW_MATCH (the alerter) has taken and acked everything stored there.
settled() {
  curl -sf "$MON/jsz?consumers=1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
cs = [c for a in d.get("account_details", []) for s in a.get("stream_detail", [])
      if s["name"] == "CW_MATCH" for c in s.get("consumer_detail", [])]
sys.exit(0 if cs and all(c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in cs) else 1)'
}
run_scenario() {
  local name=$1 matchers=1
  [[ $name == three ]] && matchers=3
  [[ $name == kill || $name == nats ]] && matchers=2
  wm_base=0
  mesh_start --matchers "$matchers" --rules "$rules" || return 1
  "$CHAINWATCH" replay --nats "$NATS_URL" --customer bf --source ecs --rate 150 --no-progress \
    "$tmp/bf.ndjson" >"$tmp/replay.out" 2>&1 &
  local replay=$!; extra_pids+=("$replay")
  case $name in
    scale) at 0.3; mesh scale --matchers 3; at 0.65; mesh scale --matchers 2 ;;
    kill) at 0.45; mesh kill matcher-1; mesh restart matcher-1 ;;
    nats) at 0.4; mesh stop nats; mesh restart nats ;;
    services)
      at 0.2; mesh kill normalizer; mesh restart normalizer
      at 0.4; wm_base=$(consumed); mesh kill watermark; mesh restart watermark
      at 0.6; mesh kill alerter; mesh restart alerter
      at 0.8; mesh kill ingestor; mesh restart ingestor ;;
  esac
  wait "$replay" || { echo "$name: replay failed"; cat "$tmp/replay.out"; return 1; }
  # Every alert stored, then nothing pending anywhere.
  stored() { (($(stream_msgs CW_ALERTS) >= want)); }
  until_true 90 stored || {
    local have; have=$(stream_msgs CW_ALERTS)
    echo "$name: only $have of $want alerts stored; CW_LATE $(stream_msgs CW_LATE)," \
      "CW_DLQ $(stream_msgs CW_DLQ), CW_MATCH $(stream_msgs CW_MATCH), consumed $(consumed)"
    "$CHAINWATCH" alerts tail --nats "$NATS_URL" --stream --count "$have" --timeout 10s --json \
      >"$tmp/alerts_$name.ndjson" || true
    python3 tests/mesh/alertset.py mesh bf "$tmp/alerts_$name.ndjson" >"$tmp/got_$name" || true
    echo "$name: missing (< hunt) or extra (> mesh) alerts:"
    diff "$tmp/want" "$tmp/got_$name" | head -20 || true
    "$CHAINWATCH" status --nats "$NATS_URL" | tail -12 || true
    return 1
  }
  until_true 30 settled || { echo "$name: alerter did not catch up"; return 1; }
  local n; n=$(stream_msgs CW_ALERTS)
  "$CHAINWATCH" alerts tail --nats "$NATS_URL" --stream --count "$n" --timeout 30s --json \
    >"$tmp/alerts_$name.ndjson"
  python3 tests/mesh/alertset.py mesh bf "$tmp/alerts_$name.ndjson" >"$tmp/got_$name"
  local ok=1
  diff "$tmp/want" "$tmp/got_$name" >"$tmp/diff_$name" || { echo "$name: mesh != hunt (< hunt, > mesh)"; head -20 "$tmp/diff_$name"; ok=0; }
  ((n == want)) || { echo "$name: CW_ALERTS holds $n alerts, expected $want (duplicates?)"; ok=0; }
  # The interruption really happened: the members at the end, and partitions restored from
  # checkpoints by a new owner.
  local members restores=0 m r status expect
  case $name in three) expect=3 ;; services) expect=1 ;; *) expect=2 ;; esac
  # Membership is a heartbeat with a lease: a node starved of CPU (the sanitizer build on a
  # loaded machine) can drop out for a moment and rejoin; wait for it to settle, then check.
  member_count() {
    status=$("$CHAINWATCH" status --nats "$NATS_URL")
    members=$(sed -n 's/^matcher nodes (\([0-9]*\)):$/\1/p' <<<"$status")
    [[ $members == "$expect" ]]
  }
  until_true 30 member_count || true
  # The watermark service checkpointed the replay's end of input (it does so at once after one).
  grep -qE '^    [^ ]+  max event .*  end of input$' <<<"$status" ||
    { echo "$name: status shows no source at end of input:"; echo "$status" | tail -5; ok=0; }
  for m in $(sed -n 's/^\(matcher-[0-9]*\)=.*/\1/p' "$tmp/run/metrics"); do
    r=$(metric "$m" chainwatch_matcher_restores_total || true); restores=$((restores + ${r:-0}))
  done
  echo "$name: $n alerts, $members matcher nodes at the end, $restores partitions restored by a new owner"
  case $name in
    three) ((members == 3)) || { echo "three: $members members"; ok=0; } ;;
    scale) ((members == 2 && restores > 0)) || { echo "scale: $members members, $restores restores"; ok=0; } ;;
    kill) ((members == 2 && restores > 0)) || { echo "kill: $members members, $restores restores"; ok=0; } ;;
    nats) ((members == 2)) || { echo "nats: $members members"; ok=0; } ;;
  esac
  ((ok)) || return 1 # end_scenario shows the logs, then takes the mesh down
  CHAINWATCH_BIN=$BIN scripts/mesh down --run-dir "$tmp/run" >/dev/null 2>&1 || true
  mesh_up=0; rm -rf "$tmp/run"
}

# A failed scenario leaves its logs and takes its mesh down, so the next one starts clean.
end_scenario() {
  local f
  for f in "$tmp"/run/*.log; do echo "== $f"; tail -n 15 "$f"; done
  for p in "${extra_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  CHAINWATCH_BIN=$BIN scripts/mesh down --run-dir "$tmp/run" >/dev/null 2>&1 || true
  mesh_up=0; rm -rf "$tmp/run"
}
fail=0
for s in $scenarios; do run_scenario "$s" || { fail=1; end_scenario; }; done
((fail == 0)) || exit 1
echo "scale_and_recovery: ok ($scenarios: each $want alerts, equal to hunt, no duplicates)"
