#!/usr/bin/env bash
# The mesh's two side exits, seen by a client that is not ours (the npm `nats` package,
# tests/mesh/node/sub_subjects.js, decoding the libs/wire envelopes):
# (a) dead letters: 5 valid ECS lines and 3 malformed ones (broken JSON, no @timestamp, binary
#     garbage) for customer `bad` give exactly 3 `dead_letter`s on cw.dlq.bad from stage
#     normalizer, each with a reason and the offending bytes, counted in
#     chainwatch_normalizer_dead_letters_total{reason};
# (b) late events: customer `late` streams events at T..T+10min through one `chainwatch replay`
#     (stdin kept open, so no end of input closes the customer); once the watermark service reports
#     the customer watermark T+10min-5s (lateness 5s), 3 events at T-1h on the same stream go to
#     cw.late.late as `late_event`s carrying exactly that watermark, counted in
#     chainwatch_watermark_late_events_total{customer="late"}, and never reach a matcher.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node not installed (scripts/bootstrap installs nodejs npm)"
command -v npm >/dev/null || skip "npm not installed (scripts/bootstrap installs nodejs npm)"
need_npm_registry
mkdir -p "$tmp/node"
cp tests/mesh/node/{package.json,package-lock.json,sub_subjects.js} "$tmp/node/"
(cd "$tmp/node" && timeout 120 npm ci --no-audit --no-fund >npm.log 2>&1) \
  || { cat "$tmp/node/npm.log"; skip "npm ci of the nats package failed (no registry access?)"; }

# Every service reads these; lateness 5s (the default, made explicit), and no source turns idle
# during the test (an idle customer's watermark would follow the wall clock).
export CHAINWATCH_WATERMARK_WATERMARK_LATENESS=5s
export CHAINWATCH_WATERMARK_WATERMARK_IDLE_TIMEOUT=5m
MESH_SOURCES=windows mesh_start
mesh_alive || exit 1

node "$tmp/node/sub_subjects.js" "$NATS_URL" 6 50000 'cw.dlq.>' 'cw.late.>' \
  >"$tmp/side.ndjson" 2>"$tmp/node.err" &
sub=$!; extra_pids+=("$sub")
until_true 30 grep -qs subscribed "$tmp/node.err" || { echo "node client did not subscribe"; cat "$tmp/node.err"; exit 1; }

# check NAME PYTHON...: runs the python check over the messages received so far ($tmp/side.ndjson,
# as the list m); prints its complaint and the messages on failure.
check() {
  local what=$1; shift
  python3 - "$tmp/side.ndjson" "$@" <<<"$(cat)" >"$tmp/check.out" 2>&1 && return 0
  echo "FAIL: $what"; cat "$tmp/check.out"; echo "-- messages received:"; cat "$tmp/side.ndjson"
  exit 1
}

# metric_is INSTANCE NAME VALUE [LABEL_TEXT] / stream_is STREAM N / received_ge SUBJECT_PREFIX N:
# conditions for until_true (evaluated on every poll).
metric_is() { [[ $(metric "$1" "$2" "${4:-}") == "$3" ]]; }
stream_is() { [[ $(stream_msgs "$1") == "$2" ]]; }
received_ge() { (($(grep -c "\"subject\":\"$1" "$tmp/side.ndjson") >= $2)); }

# --- (a) dead letters ---------------------------------------------------------------------------
ev() { # ISO time, host: one valid ECS line
  printf '{"@timestamp":"%s","event":{"category":["process"],"type":["start"]},"host":{"name":"%s"},"process":{"name":"cmd.exe"}}\n' "$1" "$2"
}
{
  ev 2024-05-01T09:00:00Z h1
  printf '{not json\n'
  ev 2024-05-01T09:00:01Z h2
  printf '{"event":{"category":["process"]},"host":{"name":"h3"},"note":"no timestamp"}\n'
  ev 2024-05-01T09:00:02Z h3
  printf '\x00\x01\xfe\xffgarbage\x80\x81\x7f\n'
  ev 2024-05-01T09:00:03Z h4
  ev 2024-05-01T09:00:04Z h5
} >"$tmp/bad.ndjson"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer bad --source ecs --no-progress "$tmp/bad.ndjson"
if ! until_true 30 metric_is normalizer chainwatch_normalizer_events_out_total 5; then
  echo "FAIL: the normalizer did not publish the 5 valid events of 'bad'" \
    "(events_out_total: $(metric normalizer chainwatch_normalizer_events_out_total))"
  mesh_alive; exit 1
fi
if ! until_true 30 received_ge cw.dlq. 3; then
  echo "FAIL: $(grep -c '"subject":"cw.dlq.' "$tmp/side.ndjson") of 3 dead letters arrived"
  cat "$tmp/side.ndjson" "$tmp/node.err"; mesh_alive; exit 1
fi
check "3 dead letters on cw.dlq.bad, each with a reason and its raw line" "$tmp/bad.ndjson" <<'P'
import base64, json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
d = [x for x in m if x["subject"].startswith("cw.dlq.")]
bad = [l for l in open(sys.argv[2], "rb").read().split(b"\n") if l and not l.startswith(b'{"@timestamp"')]
assert len(d) == 3, f"{len(d)} dead letters, expected 3"
for x in d:
    assert x["subject"] == "cw.dlq.bad" and x["kind"] == "dead_letter", f"not a dead_letter on cw.dlq.bad: {x}"
    assert x["customer"] == "bad" and x["source"] == "ecs" and x["stage"] == "normalizer", f"wrong origin: {x}"
    assert x["reason"], f"empty reason: {x}"
    # Named by input position, so a redelivered input does not file them twice.
    assert x["msg_id"].startswith("dl.n."), f"msg id {x['msg_id']!r}"
assert sorted(base64.b64decode(x["raw"]) for x in d) == sorted(bad), "raw bytes differ from the malformed lines"
reasons = sorted(x["reason"] for x in d)
assert reasons == ["json_syntax", "json_syntax", "no_timestamp"], f"reasons {reasons}"
P
n=$(metric normalizer chainwatch_normalizer_dead_letters_total)
[[ $n == 3 ]] || { echo "FAIL: chainwatch_normalizer_dead_letters_total is '$n', expected 3"; exit 1; }
n=$(metric normalizer chainwatch_normalizer_dead_letters_total 'reason="no_timestamp"')
[[ $n == 1 ]] || { echo "FAIL: chainwatch_normalizer_dead_letters_total{reason=\"no_timestamp\"} is '$n', expected 1"; exit 1; }
until_true 10 stream_is CW_DLQ 3 || { echo "FAIL: CW_DLQ holds $(stream_msgs CW_DLQ) messages, expected 3"; exit 1; }

# --- (b) late events ----------------------------------------------------------------------------
T=$(date -u -d 2024-05-01T10:00:00Z +%s)
wm_want=$(((T + 600 - 5) * 1000000000))
for i in $(seq 0 10); do ev "$(date -u -d "@$((T + 60 * i))" +%FT%TZ)" "early-$i"; done >"$tmp/early.ndjson"
for i in 1 2 3; do ev "$(date -u -d "@$((T - 3600 + i))" +%FT%TZ)" "late-$i"; done >"$tmp/late.ndjson"
# One replay for both phases, fed through a FIFO that stays open in between: a replay of a file
# ends with an end-of-input marker, after which the customer's watermark is +inf and everything is
# late anyway. --rate 10 makes the replay publish every line as it reads it (it flushes before
# pacing and 50 ms after the last flush); the empty lines (skipped by replay) push the early lines
# through its 64 KiB gzread buffer while the FIFO stays open.
mkfifo "$tmp/feed"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer late --source ecs --no-progress --rate 10 - \
  <"$tmp/feed" >"$tmp/replay_late.out" 2>&1 &
replay=$!; extra_pids+=("$replay")
# (The read end is opened by the replay's shell before it starts, so this open cannot hang; if the
# replay stops reading, a write fails with EPIPE instead of killing the test with SIGPIPE.)
trap '' PIPE
exec 3>"$tmp/feed"
feed() { cat >&3 || { echo "FAIL: replay stopped reading its input"; cat "$tmp/replay_late.out"; exit 1; }; }
feed <"$tmp/early.ndjson"
head -c 262144 /dev/zero | tr '\0' '\n' | feed
# The watermark service's view: wall clock - customer watermark, so watermark = now - lag.
wm_reached() {
  local lag; lag=$(metric watermark chainwatch_watermark_watermark_lag_seconds 'customer="late"')
  [[ -n $lag ]] && python3 -c 'import sys, time; sys.exit(abs(time.time() - float(sys.argv[1]) - int(sys.argv[2]) / 1e9) > 2)' "$lag" "$wm_want"
}
until_true 30 wm_reached || {
  echo "FAIL: the watermark of 'late' did not reach $(date -u -d "@$((wm_want / 1000000000))" +%FT%TZ) (T+10min-5s):"
  curl -sf "http://$(metrics_addr watermark)/metrics" | grep -E 'customer="late"|events_in_total'
  cat "$tmp/replay_late.out"; mesh_alive; exit 1
}
n=$(metric watermark chainwatch_watermark_late_events_total 'customer="late"')
[[ ${n:-0} == 0 ]] || { echo "FAIL: $n in-order events of 'late' were counted late"; exit 1; }
feed <"$tmp/late.ndjson"
exec 3>&-
status=0; wait_client "$replay" 30 || status=$?
((status == 0)) || { echo "FAIL: replay exited $status"; cat "$tmp/replay_late.out"; exit 1; }
status=0; wait_client "$sub" 30 || status=$?
((status == 0)) || { echo "FAIL: node client exited $status"; cat "$tmp/node.err" "$tmp/side.ndjson"; exit 1; }
check "3 late events on cw.late.late behind watermark T+10min-5s" "$T" "$wm_want" <<'P'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
T, wm = int(sys.argv[2]), sys.argv[3]
late = [x for x in m if x["subject"].startswith("cw.late.")]
assert len(late) == 3, f"{len(late)} late events, expected 3"
for x in late:
    assert x["subject"] == "cw.late.late" and x["kind"] == "late_event" and x["customer"] == "late", f"not a late_event of 'late': {x}"
    assert x["watermark_ns"] == wm, f"watermark_ns {x['watermark_ns']}, expected {wm} (T+10min-5s): {x}"
    assert x["msg_id"].startswith("lt."), f"msg id {x['msg_id']!r}"
got = sorted((int(x["event_ns"]), x["event"]["host"]["name"]) for x in late)
want = [((T - 3600 + i) * 10**9, f"late-{i}") for i in (1, 2, 3)]
assert got == want, f"late events (event_ns, host.name) {got}, expected {want}"
P
n=$(metric watermark chainwatch_watermark_late_events_total 'customer="late"')
[[ $n == 3 ]] || { echo "FAIL: chainwatch_watermark_late_events_total{customer=\"late\"} is '$n', expected 3"; exit 1; }
n=$(metric watermark chainwatch_watermark_events_in_total)
[[ $n == 19 ]] || { echo "FAIL: the watermark service consumed $n events, expected 19 (5 bad + 11 early + 3 late)"; exit 1; }
n=$(metric matcher-1 chainwatch_matcher_late_events_total)
[[ $n == 0 ]] || { echo "FAIL: the matcher counted $n late events (the watermark service should have kept them)"; exit 1; }
until_true 10 stream_is CW_LATE 3 || { echo "FAIL: CW_LATE holds $(stream_msgs CW_LATE) messages, expected 3"; exit 1; }
[[ $(stream_msgs CW_DLQ) == 3 ]] || { echo "FAIL: CW_DLQ holds $(stream_msgs CW_DLQ) messages, expected 3"; exit 1; }
mesh_alive || exit 1
echo "dead_letter_and_late: ok (3 dead letters on cw.dlq.bad, 3 late events on cw.late.late)"
