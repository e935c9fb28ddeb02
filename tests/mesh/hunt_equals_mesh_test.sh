#!/usr/bin/env bash
# The mesh (2 matchers) finds exactly what `chainwatch hunt` finds, on real data and on the demo:
# the Mordor PurpleSharp AD playbook (NXLog JSON, 25,993 Windows events, a password spray at
# 2020-10-22 08:29:55Z) with a password-spray rule (tests/mesh/rules) next to the bundled rules,
# the same file with every block of 10 lines reversed (out of order within the 5m lateness), and
# tests/data/demo.ndjson. Alert set = (rule id, key, first event time, last event time). The
# normalizer routes the events (the watermark takes its routes): checked on the metrics.
# The alerter's repeat suppression is off here: hunt reports every match, and so must the mesh
# (services/alerter/tests cover suppression).
# Env: SOURCE_DIR, CHAINWATCH, SHARED_DATA.
source "$(dirname "$0")/lib.sh"
data=${SHARED_DATA:-$SOURCE_DIR/../shared/data}/windows/purplesharp_ad_playbook_I.json
[[ -r $data ]] || skip "$data absent (third-party data in ../shared/data)"

rules=$tmp/rules; mkdir -p "$rules"
cp config/rules/*.toml tests/mesh/rules/*.toml "$rules/"
# Reverse every block of 10 lines.
awk '{b[NR%10]=$0} NR%10==0{for(i=9;i>=0;i--)print b[(i+10)%10]; delete b; n=0; next} {n++}
     END{for(i=NR%10; i>=1; i--) print b[i]}' "$data" >"$tmp/shuffled.json"
[[ $(wc -l <"$tmp/shuffled.json") -eq $(wc -l <"$data") ]] || { echo "shuffle lost lines"; exit 1; }
cmp -s "$data" "$tmp/shuffled.json" && { echo "shuffle changed nothing"; exit 1; }

alertset=tests/mesh/alertset.py
"$CHAINWATCH" hunt --source windows --rules "$rules" "$data" >"$tmp/hunt_win.ndjson" 2>/dev/null
"$CHAINWATCH" hunt --source windows --rules "$rules" "$tmp/shuffled.json" >"$tmp/hunt_shuf.ndjson" 2>/dev/null
"$CHAINWATCH" hunt --rules "$rules" tests/data/demo.ndjson >"$tmp/hunt_demo.ndjson" 2>/dev/null
python3 $alertset hunt "$tmp/hunt_win.ndjson" >"$tmp/want_win"
python3 $alertset hunt "$tmp/hunt_shuf.ndjson" >"$tmp/want_shuf"
python3 $alertset hunt "$tmp/hunt_demo.ndjson" >"$tmp/want_demo"
n_win=$(wc -l <"$tmp/want_win"); n_demo=$(wc -l <"$tmp/want_demo")
grep -q 00000000-1175-4e57-a000-000000000001 "$tmp/want_win" || { echo "hunt found no spray"; exit 1; }
((n_win >= 4 && n_demo >= 2)) || { echo "hunt found too little: $n_win windows, $n_demo demo"; exit 1; }
diff "$tmp/want_win" "$tmp/want_shuf" || { echo "hunt differs on the shuffled file"; exit 1; }

# Every service reads the env override; 5m lateness covers the block reversal.
export CHAINWATCH_WATERMARK_WATERMARK_LATENESS=5m
export CHAINWATCH_ALERTER_ALERTER_SUPPRESS_WINDOW=0
mesh_start --matchers 2 --rules "$rules"
mesh_alive || exit 1
total=$((2 * n_win + n_demo))
"$CHAINWATCH" alerts tail --nats "$NATS_URL" --count "$total" --timeout 60s --json \
  >"$tmp/alerts.ndjson" 2>"$tmp/tail.err" &
tail_pid=$!; extra_pids+=("$tail_pid")
until_true 30 subscribed '"cw.alerts.' || { echo "alerts tail did not subscribe"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer win --source windows --no-progress "$data"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer shuf --source windows --no-progress "$tmp/shuffled.json"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer demo --source ecs --no-progress tests/data/demo.ndjson
status=0; wait_client "$tail_pid" 90 || status=$?
if ((status != 0)); then
  echo "alerts tail exited $status after $(wc -l <"$tmp/alerts.ndjson") of $total alerts"; cat "$tmp/tail.err"
fi
fail=$((status != 0))
for c in win shuf demo; do
  python3 $alertset mesh "$c" "$tmp/alerts.ndjson" >"$tmp/got_$c"
  diff "$tmp/want_$c" "$tmp/got_$c" >"$tmp/diff_$c" || { echo "customer $c: mesh != hunt (< hunt, > mesh)"; cat "$tmp/diff_$c"; fail=1; }
done
# Nothing beyond the expected set was published (the stream holds every alert ever sent).
n=$(stream_msgs CW_ALERTS)
((n == total)) || { echo "CW_ALERTS holds $n alerts, expected $total"; fail=1; }
# The normalizer routed every event with the watermark's rules: the watermark took its routes
# (so the equality above holds for routes found there), none were routed again.
ev_in=$(metric watermark chainwatch_watermark_events_in_total)
pre=$(metric watermark chainwatch_watermark_events_prerouted_total)
re=$(metric watermark chainwatch_watermark_events_rerouted_total)
[[ -n $ev_in && ${ev_in%.*} -gt 0 && $pre == "$ev_in" && ${re%.*} -eq 0 ]] ||
  { echo "watermark: events_in $ev_in, prerouted $pre, rerouted $re"; fail=1; }
((fail == 0)) || exit 1
echo "hunt_equals_mesh: ok ($n_win alerts on the Windows data, same when shuffled, $n_demo on the demo)"
