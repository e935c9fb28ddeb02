#!/usr/bin/env bash
# A client that is not ours, where npm cannot fetch the Node.js one: the NATS project's CLI,
# natscli (`nats`, pinned in scripts/bootstrap, built from the Go module proxy). It covers what
# node_client_test.sh and dead_letter_and_late_test.sh check with the npm `nats` package (they
# skip without npm's registry), with wire envelopes decoded by wire_dump.py:
#   (a) subscribed to cw.alerts.>, it receives the demo's alerts (the two attack chains among
#       them), the same as `chainwatch hunt`'s;
#   (b) 3 malformed lines of customer `bad` (among 5 good ones): 3 `dead_letter`s arrive on
#       cw.dlq.bad, each with its reason and raw line, and the same 3 are read back from CW_DLQ;
#   (c) customer `late`: once a replay of events T..T+10min (no end of input) has taken the
#       watermark to T+10min-5s (lateness 5s), a second one of 3 events at T-1h sends them to
#       cw.late.late as `late_event`s carrying that watermark, also read back from CW_LATE.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
command -v nats >/dev/null || skip "natscli (nats) not installed (scripts/bootstrap installs it with Go)"
# Lateness 5s (the default, made explicit), and no source turns idle during the test (an idle
# customer's watermark would follow the wall clock).
export CHAINWATCH_WATERMARK_WATERMARK_LATENESS=5s
export CHAINWATCH_WATERMARK_WATERMARK_IDLE_TIMEOUT=5m
MESH_SOURCES=windows mesh_start --matchers 2
mesh_alive || exit 1

# sub NAME COUNT SUBJECT... [natscli options]: natscli in the background, dumping each message
# into $tmp/NAME/ (and its output in $tmp/NAME.err); waits until the server has its subscription.
sub() {
  local name=$1 count=$2; shift 2
  timeout 90 nats -s "$NATS_URL" sub "$@" --count "$count" --dump "$tmp/$name" >"$tmp/$name.err" 2>&1 &
  sub_pid=$!; extra_pids+=("$sub_pid")
}
# received NAME: what natscli dumped, decoded (one JSON line per message).
received() { python3 tests/mesh/wire_dump.py "$tmp/$1"; }
# check WHAT NAME ARGS... <<PYTHON: runs the check (stdin) over what natscli dumped into
# $tmp/NAME (decoded to $tmp/NAME.ndjson, sys.argv[1]); ARGS follow.
check() {
  local what=$1 name=$2; shift 2
  received "$name" >"$tmp/$name.ndjson"
  python3 - "$tmp/$name.ndjson" "$@" >"$tmp/check.out" 2>&1 && return 0
  echo "FAIL: $what"; cat "$tmp/check.out"; echo "-- messages:"; cat "$tmp/$name.ndjson"; exit 1
}

# --- (a) alerts ---------------------------------------------------------------------------------
# What hunt finds in the demo events: the two attack chains (and more with a bigger rule pack).
"$CHAINWATCH" hunt --rules config/rules tests/data/demo.ndjson >"$tmp/hunt_demo.ndjson" 2>/dev/null
python3 tests/mesh/alertset.py hunt "$tmp/hunt_demo.ndjson" >"$tmp/want_demo"
demo=$(wc -l <"$tmp/want_demo")
timeout 90 nats -s "$NATS_URL" sub 'cw.alerts.>' --count "$demo" --raw >"$tmp/alerts.ndjson" 2>"$tmp/alerts.err" &
sub_pid=$!; extra_pids+=("$sub_pid")
until_true 30 subscribed cw.alerts. || { echo "natscli did not subscribe"; cat "$tmp/alerts.err"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer demo --source ecs --no-progress tests/data/demo.ndjson
status=0; wait_client "$sub_pid" 100 || status=$?
((status == 0)) || { echo "natscli exited $status"; cat "$tmp/alerts.err" "$tmp/alerts.ndjson"; exit 1; }
cut -c1-120 "$tmp/alerts.ndjson"
python3 tests/mesh/alertset.py mesh demo "$tmp/alerts.ndjson" >"$tmp/got_demo"
diff "$tmp/want_demo" "$tmp/got_demo" || { echo "alerts != hunt (< hunt, > natscli)"; exit 1; }
python3 - "$tmp/alerts.ndjson" <<'P' || { echo "the demo's two attack chains are not among the alerts"; exit 1; }
import json, sys
got = {(a["customer"], a["rule"]["id"], tuple(a["key"])) for a in map(json.loads, open(sys.argv[1]))}
assert ("demo", "5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01", ("svc-backup",)) in got, got
assert ("demo", "9b7f3c1d-2e4a-4b8c-8d6e-3a1f5e7c9d02", ("10.20.0.16",)) in got, got
P
echo "(a) $demo alerts on cw.alerts.>, equal to hunt"

# --- (b) dead letters ---------------------------------------------------------------------------
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
sub dlq_live 3 'cw.dlq.>'
until_true 30 subscribed cw.dlq. || { echo "natscli did not subscribe to cw.dlq.>"; cat "$tmp/dlq_live.err"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer bad --source ecs --no-progress "$tmp/bad.ndjson"
status=0; wait_client "$sub_pid" 60 || status=$?
((status == 0)) || { echo "natscli on cw.dlq.> exited $status"; cat "$tmp/dlq_live.err"; received dlq_live; exit 1; }
# The same three, read back from the stream.
timeout 60 nats -s "$NATS_URL" sub 'cw.dlq.>' --stream CW_DLQ --all --count 3 --dump "$tmp/dlq_stream" \
  >"$tmp/dlq_stream.err" 2>&1 || { echo "reading CW_DLQ failed"; cat "$tmp/dlq_stream.err"; exit 1; }
for d in dlq_live dlq_stream; do
  check "$d: 3 dead letters on cw.dlq.bad, each with a reason and its raw line" $d "$tmp/bad.ndjson" <<'P'
import base64, json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
bad = [l for l in open(sys.argv[2], "rb").read().split(b"\n") if l and not l.startswith(b'{"@timestamp"')]
assert len(m) == 3, f"{len(m)} dead letters, expected 3: {m}"
for x in m:
    assert x["subject"] == "cw.dlq.bad" and x["kind"] == "dead_letter", f"not a dead_letter on cw.dlq.bad: {x}"
    assert x["customer"] == "bad" and x["source"] == "ecs" and x["stage"] == "normalizer", f"wrong origin: {x}"
    assert x["msg_id"].startswith("dl.n."), f"msg id {x['msg_id']!r}"
assert sorted(base64.b64decode(x["raw"]) for x in m) == sorted(bad), "raw bytes differ from the malformed lines"
reasons = sorted(x["reason"] for x in m)
assert reasons == ["json_syntax", "json_syntax", "no_timestamp"], f"reasons {reasons}"
P
done
echo "(b) 3 dead letters on cw.dlq.bad and in CW_DLQ"

# --- (c) late events ----------------------------------------------------------------------------
T=$(date -u -d 2024-05-01T10:00:00Z +%s)
for i in $(seq 0 10); do ev "$(date -u -d "@$((T + 60 * i))" +%FT%TZ)" "early-$i"; done >"$tmp/early.ndjson"
for i in 1 2 3; do ev "$(date -u -d "@$((T - 3600 + i))" +%FT%TZ)" "late-$i"; done >"$tmp/late.ndjson"
sub late_live 3 'cw.late.>'
until_true 30 subscribed cw.late. || { echo "natscli did not subscribe to cw.late.>"; cat "$tmp/late_live.err"; exit 1; }
# Without end of input: after one, the customer's watermark is +inf and the next replay is a new
# run. The late events go in once the watermark service has the early ones' watermark.
"$CHAINWATCH" replay --nats "$NATS_URL" --customer late --source ecs --no-progress --no-eof "$tmp/early.ndjson"
# The watermark service's view: wall clock - customer watermark, so watermark = now - lag.
wm_want=$(((T + 600 - 5) * 1000000000))
wm_reached() {
  local lag; lag=$(metric watermark chainwatch_watermark_watermark_lag_seconds 'customer="late"')
  [[ -n $lag ]] && python3 -c 'import sys, time; sys.exit(abs(time.time() - float(sys.argv[1]) - int(sys.argv[2]) / 1e9) > 2)' "$lag" "$wm_want"
}
until_true 30 wm_reached || { echo "the watermark of 'late' did not reach T+10min-5s"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer late --source ecs --no-progress --no-eof "$tmp/late.ndjson"
status=0; wait_client "$sub_pid" 60 || status=$?
((status == 0)) || { echo "natscli on cw.late.> exited $status"; cat "$tmp/late_live.err"; received late_live; exit 1; }
timeout 60 nats -s "$NATS_URL" sub 'cw.late.>' --stream CW_LATE --all --count 3 --dump "$tmp/late_stream" \
  >"$tmp/late_stream.err" 2>&1 || { echo "reading CW_LATE failed"; cat "$tmp/late_stream.err"; exit 1; }
for d in late_live late_stream; do
  check "$d: 3 late events on cw.late.late behind the watermark T+10min-5s" $d "$T" "$wm_want" <<'P'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
T, wm = int(sys.argv[2]), int(sys.argv[3])
assert len(m) == 3, f"{len(m)} late events, expected 3: {m}"
assert sorted(x["event"]["host"]["name"] for x in m) == ["late-1", "late-2", "late-3"], m
for x in m:
    assert x["subject"] == "cw.late.late" and x["kind"] == "late_event", f"not a late_event on cw.late.late: {x}"
    assert x["customer"] == "late", x
    assert T - 3600 < x["event_ns"] // 10**9 <= T - 3597, f"event time {x['event_ns']}"
    assert x["watermark_ns"] == wm, f"watermark {x['watermark_ns']}, expected {wm}: {x}"
P
done
echo "(c) 3 late events on cw.late.late and in CW_LATE"
echo "natscli: ok"
