#!/usr/bin/env bash
# Third-party data through every intake path gives the alerts `chainwatch hunt` gives:
# - Zeek ssh.log (wrccdc, TSV in gzip, 22 rows with a failed then a successful login from one
#   address) as TSV and as Zeek JSON without `_path` under a name that is not a Zeek log's (the
#   type comes from the records), Zeek http.log (Kovter, TSV of 1,464 rows: more than one batch,
#   every batch must bring the #fields header) and the Windows AD playbook (NXLog JSON, 25,993
#   events with a password spray);
# - through `chainwatch replay` and through the ingestor's syslog TCP listener in RFC 5424 and
#   RFC 3164 (BSD: no year) framing, and RFC 6587 octet counting;
# - with 1 matcher, then 3 (the Zeek JSON replayed again);
# - the playbook with one event stamped 2099, replayed: the skew guard sets it aside (cw.late,
#   counted) and the alerts are the original's, as in hunt.
# Alert set = (rule id, key, first event time, last event time), per customer.
# Env: SOURCE_DIR, CHAINWATCH, SHARED_DATA.
source "$(dirname "$0")/lib.sh"
shared=${SHARED_DATA:-$SOURCE_DIR/../shared/data}
wrccdc=$shared/zeek/wrccdc/ssh.log.gz
kovter=$shared/zeek/kovter/http.log.labeled
win=$shared/windows/purplesharp_ad_playbook_I.json
for f in "$wrccdc" "$kovter" "$win"; do [[ -r $f ]] || skip "$f absent (third-party data in ../shared/data)"; done

rules=$tmp/rules; mkdir -p "$rules"
cp config/rules/*.toml tests/mesh/rules/*.toml "$rules/"
python3 tests/mesh/zeek_tsv2json.py "$wrccdc" >"$tmp/wrccdc-sensor.json"
alertset=tests/mesh/alertset.py
want() { # NAME SOURCE FILE [hunt options]: hunt's alert set
  "$CHAINWATCH" hunt --no-progress --source "$2" --rules "$rules" "${@:4}" "$3" >"$tmp/hunt_$1.ndjson" 2>"$tmp/hunt_$1.err"
  python3 $alertset hunt "$tmp/hunt_$1.ndjson" >"$tmp/want_$1"
}
want ssh_json zeek "$tmp/wrccdc-sensor.json"
want ssh_tsv zeek "$wrccdc"
want http zeek "$kovter"
want win windows "$win" --lateness 1m
# The playbook with its second event stamped 2099 (a broken clock): the skew guard sets it aside,
# so nothing else is late and the alerts are the original's.
python3 - "$win" "$tmp/win-skewed.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
ev = json.loads(lines[1])
ev["@timestamp"], ev["EventTime"] = "2099-01-01T00:00:00.000Z", "2099-01-01 00:00:00"
lines[1] = json.dumps(ev)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
want win_skew windows "$tmp/win-skewed.json" --lateness 1m
diff "$tmp/want_win" "$tmp/want_win_skew" || { echo "hunt: the skewed event changed the alerts"; exit 1; }
grep -q " 1 skewed" "$tmp/hunt_win_skew.err" || { echo "hunt: the skewed event was not set aside"; exit 1; }
diff "$tmp/want_ssh_json" "$tmp/want_ssh_tsv" || { echo "hunt: Zeek JSON and TSV differ"; exit 1; }
[[ $(wc -l <"$tmp/want_ssh_json") -eq 1 ]] || { echo "hunt: want 1 SSH alert"; cat "$tmp/hunt_ssh_json.err"; exit 1; }
n_http=$(wc -l <"$tmp/want_http"); n_win=$(wc -l <"$tmp/want_win")
((n_http > 100 && n_win >= 4)) || { echo "hunt found too little: $n_http http, $n_win windows"; exit 1; }
# Every Elastic rule type is in the comparison: threshold (2 sprays), new_terms (12 first
# logon sources), alert suppression (7 alerts, 7 suppressed), KQL, EQL runs.
for want_rule in 6:2 7:12 8:7 5:7; do
  n=$(grep -c "^00000000-1175-4e57-a000-00000000000${want_rule%:*}	" "$tmp/want_win" || true)
  [[ $n -eq ${want_rule#*:} ]] || { echo "hunt: rule ${want_rule%:*} gave $n alerts on the playbook, want ${want_rule#*:}"; exit 1; }
done
grep -q " 7 suppressed" "$tmp/hunt_win.err" || { echo "hunt: want 7 suppressed"; cat "$tmp/hunt_win.err"; exit 1; }

# Syslog sources have no end of input: they go idle, and then the watermark follows the wall
# clock from the latest event time less the lateness. 1m for the Windows listeners (the playbook
# is ordered within a minute; the spray is over a minute before its last event), so their
# alerts come within seconds of going idle; 5m elsewhere (Zeek logs are written when a
# connection ends, out of order by its duration).
export CHAINWATCH_WATERMARK_WATERMARK_LATENESS=5m
export CHAINWATCH_WATERMARK_WATERMARK_LATENESS_OVERRIDES=win3164/windows=1m,win5424/windows=1m,wskew/windows=1m
export CHAINWATCH_WATERMARK_WATERMARK_IDLE_TIMEOUT=2s
export CHAINWATCH_ALERTER_ALERTER_SUPPRESS_WINDOW=0
p1=$(free_port); p2=$(free_port); p3=$(free_port); p4=$(free_port)
MESH_SOURCES="zeek windows syslog" mesh_start --matchers 1 --rules "$rules" --listeners \
  "tcp:127.0.0.1:$p1:zj5424:zeek,tcp:127.0.0.1:$p2:zj3164:zeek,tcp:127.0.0.1:$p3:win3164:windows,tcp:127.0.0.1:$p4:win5424:windows"
mesh_alive || exit 1

# customer -> expected set
declare -A expect=([zj]=ssh_json [zt]=ssh_tsv [kov]=http [zj5424]=ssh_json [zj3164]=ssh_json
                   [win3164]=win [win5424]=win [wskew]=win)
total=0; for c in "${!expect[@]}"; do total=$((total + $(wc -l <"$tmp/want_${expect[$c]}"))); done
"$CHAINWATCH" alerts tail --nats "$NATS_URL" --count "$total" --timeout 120s --json \
  >"$tmp/alerts.ndjson" 2>"$tmp/tail.err" &
tail_pid=$!; extra_pids+=("$tail_pid")
until_true 30 subscribed '"cw.alerts.' || { echo "alerts tail did not subscribe"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer zj --source zeek --no-progress "$tmp/wrccdc-sensor.json"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer zt --source zeek --no-progress "$wrccdc"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer kov --source zeek --no-progress "$kovter"
"$CHAINWATCH" replay --nats "$NATS_URL" --customer wskew --source windows --no-progress "$tmp/win-skewed.json"
python3 tests/mesh/syslog_send.py 127.0.0.1 "$p1" 5424 zeek "$tmp/wrccdc-sensor.json"
python3 tests/mesh/syslog_send.py 127.0.0.1 "$p2" 3164 zeek "$tmp/wrccdc-sensor.json"
python3 tests/mesh/syslog_send.py 127.0.0.1 "$p3" 3164 nxlog "$win"
python3 tests/mesh/syslog_send.py 127.0.0.1 "$p4" 5424-octet nxlog "$win"
status=0; wait_client "$tail_pid" 180 || status=$?
((status == 0)) || { echo "alerts tail exited $status after $(wc -l <"$tmp/alerts.ndjson") of $total alerts"; cat "$tmp/tail.err"; }
fail=$((status != 0))
compare() { # CUSTOMER EXPECTED
  python3 $alertset mesh "$1" "$tmp/alerts.ndjson" >"$tmp/got_$1"
  diff "$tmp/want_$2" "$tmp/got_$1" >"$tmp/diff_$1" || { echo "customer $1: mesh != hunt (< hunt, > mesh)"; head -20 "$tmp/diff_$1"; fail=1; }
}
for c in "${!expect[@]}"; do compare "$c" "${expect[$c]}"; done
dlq=$(stream_msgs CW_DLQ)
((dlq == 0)) || { echo "$dlq dead letters"; fail=1; }
# The 2099 event went to cw.late as skewed (ahead of its ingest time); none of the customer's
# events became late.
skewed=$(metric watermark chainwatch_watermark_skewed_events_total 'customer="wskew"')
late=$(metric watermark chainwatch_watermark_late_events_total 'customer="wskew"')
[[ ${skewed%.*} == 1 && ${late:-0} == 0 ]] || { echo "wskew: $skewed skewed, ${late:-0} late (want 1, 0)"; fail=1; }
(($(stream_msgs CW_LATE) >= 1)) || { echo "CW_LATE holds no skewed event"; fail=1; }
# Suppressed alerts are counted, as hunt counts them: three replays of the playbook.
skew_suppressed=$(sed -n 's/.* \([0-9]*\) suppressed.*/\1/p' "$tmp/hunt_win_skew.err")
want_suppressed=$((2 * 7 + skew_suppressed))
suppressed_counted() { [[ $(metric matcher-1 chainwatch_matcher_suppressed_total) == "$want_suppressed" ]]; }
until_true 30 suppressed_counted || {
  echo "matcher: $(metric matcher-1 chainwatch_matcher_suppressed_total) suppressed, want $want_suppressed"; fail=1; }
((fail == 0)) || exit 1

# Three matchers: the partitions move; the same file gives the same alerts.
CHAINWATCH_BIN=$BIN scripts/mesh scale --matchers 3 --run-dir "$tmp/run" >/dev/null
"$CHAINWATCH" alerts tail --nats "$NATS_URL" --customer zj3 --count 1 --timeout 60s --json \
  >"$tmp/alerts3.ndjson" 2>"$tmp/tail3.err" &
tail_pid=$!; extra_pids+=("$tail_pid")
until_true 30 subscribed '"cw.alerts.zj3.' || { echo "alerts tail did not subscribe"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer zj3 --source zeek --no-progress "$tmp/wrccdc-sensor.json"
wait_client "$tail_pid" 90 || { echo "3 matchers: no alert"; cat "$tmp/tail3.err"; exit 1; }
python3 $alertset mesh zj3 "$tmp/alerts3.ndjson" | diff "$tmp/want_ssh_json" - || { echo "3 matchers: mesh != hunt"; exit 1; }
owners=$("$CHAINWATCH" status --nats "$NATS_URL" | grep -c 'matcher-' || true)
((owners >= 3)) || { echo "3 matchers do not share the partitions"; "$CHAINWATCH" status --nats "$NATS_URL"; exit 1; }
echo "real_data: ok (SSH 1, HTTP $n_http, Windows $n_win alerts; replay, syslog 5424/3164/octet, 1 and 3 matchers)"
