#!/usr/bin/env bash
# Sigma rules run in the mesh as in `chainwatch hunt`: every SigmaHQ Windows rule that loads
# (../shared/data/sigma/rules/windows, compiled with config/sigma) over the Mordor PurpleSharp AD
# playbook (NXLog JSON, 25,993 events): the mesh (1 matcher) publishes exactly hunt's alert set
# (rule id, key, first event time, last event time), among them SigmaHQ's PurpleSharp rule.
# Env: SOURCE_DIR, CHAINWATCH, SHARED_DATA.
source "$(dirname "$0")/lib.sh"
shared=${SHARED_DATA:-$SOURCE_DIR/../shared/data}
data=$shared/windows/purplesharp_ad_playbook_I.json
sigma=$shared/sigma/rules/windows
for f in "$data" "$sigma"; do [[ -r $f ]] || skip "$f absent (third-party data in ../shared/data)"; done
export CHAINWATCH_SIGMA=$SOURCE_DIR/config/sigma

alertset=tests/mesh/alertset.py
"$CHAINWATCH" hunt --no-progress --source windows --rules "$sigma" "$data" >"$tmp/hunt.ndjson" 2>"$tmp/hunt.err"
python3 $alertset hunt "$tmp/hunt.ndjson" >"$tmp/want"
n=$(wc -l <"$tmp/want")
# ff23ffbc-...: "HackTool - PurpleSharp Execution" (process_creation).
grep -q "^ff23ffbc-3378-435e-992f-0624dcf93ab4	" "$tmp/want" ||
  { echo "hunt: the PurpleSharp Sigma rule did not fire"; tail -1 "$tmp/hunt.err"; exit 1; }
((n >= 100)) || { echo "hunt found too little: $n alerts"; exit 1; }

export CHAINWATCH_WATERMARK_WATERMARK_LATENESS=5m
export CHAINWATCH_ALERTER_ALERTER_SUPPRESS_WINDOW=0
mesh_start --matchers 1 --rules "$sigma"
mesh_alive || exit 1
"$CHAINWATCH" alerts tail --nats "$NATS_URL" --count "$n" --timeout 120s --json \
  >"$tmp/alerts.ndjson" 2>"$tmp/tail.err" &
tail_pid=$!; extra_pids+=("$tail_pid")
until_true 30 subscribed '"cw.alerts.' || { echo "alerts tail did not subscribe"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer win --source windows --no-progress "$data"
status=0; wait_client "$tail_pid" 150 || status=$?
if ((status != 0)); then
  echo "alerts tail exited $status after $(wc -l <"$tmp/alerts.ndjson") of $n alerts"; cat "$tmp/tail.err"
fi
fail=$((status != 0))
python3 $alertset mesh win "$tmp/alerts.ndjson" >"$tmp/got"
diff "$tmp/want" "$tmp/got" >"$tmp/diff" || { echo "mesh != hunt (< hunt, > mesh)"; head -20 "$tmp/diff"; fail=1; }
((fail == 0)) || exit 1
echo "sigma_hunt_equals_mesh: ok ($n alerts from SigmaHQ rules, the same in hunt and the mesh)"
