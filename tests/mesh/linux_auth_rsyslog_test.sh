#!/usr/bin/env bash
# Linux authentication logs from a real rsyslog into the running mesh: sshd's failed logins then
# a success (the bundled brute-force rule) are sent with logger to an rsyslogd, which forwards
# them to the ingestor's syslog TCP listeners in RFC 5424 (RSYSLOG_SyslogProtocol23Format) and in
# RFC 3164 (RSYSLOG_TraditionalForwardFormat: no year) framing, and writes the same frames to
# files. Each listener's customer gets the brute-force alert, in this year, and `chainwatch hunt
# --source syslog` over the files rsyslog wrote finds the same alerts.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
command -v rsyslogd >/dev/null || skip "rsyslogd not installed (Debian package rsyslog)"
command -v logger >/dev/null || skip "logger not installed"

p5424=$(free_port); p3164=$(free_port); pin=$(free_port)
export CHAINWATCH_WATERMARK_WATERMARK_IDLE_TIMEOUT=2s # a live source: it goes idle
MESH_SOURCES=syslog mesh_start --matchers 1 \
  --listeners "tcp:127.0.0.1:$p5424:rs5424:syslog,tcp:127.0.0.1:$p3164:rs3164:syslog"
mesh_alive || exit 1

mkdir -p "$tmp/rsyslog"
cat >"$tmp/rsyslog.conf" <<CONF
global(workDirectory="$tmp/rsyslog")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$pin" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="$p5424" protocol="tcp"
         template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="$p3164" protocol="tcp"
         template="RSYSLOG_TraditionalForwardFormat")
  action(type="omfile" file="$tmp/forwarded-5424.log" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfile" file="$tmp/forwarded-3164.log" template="RSYSLOG_TraditionalForwardFormat")
}
CONF
rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslog.pid" >"$tmp/rsyslogd.log" 2>&1 &
extra_pids+=($!)
until_true 20 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$pin) 2>/dev/null" || { echo "rsyslogd did not listen"; cat "$tmp/rsyslogd.log"; exit 1; }

"$CHAINWATCH" alerts tail --nats "$NATS_URL" --count 2 --timeout 90s --json >"$tmp/alerts.ndjson" 2>"$tmp/tail.err" &
tail_pid=$!; extra_pids+=("$tail_pid")
until_true 30 subscribed '"cw.alerts.' || { echo "alerts tail did not subscribe"; exit 1; }
send() { logger -n 127.0.0.1 -P "$pin" -T --rfc3164 -t sshd --id=4242 "$1"; }
for i in 1 2 3 4 5 6; do send "Failed password for root from 10.9.9.9 port 5$i022 ssh2"; done
send "Accepted password for root from 10.9.9.9 port 51999 ssh2"
status=0; wait_client "$tail_pid" 120 || status=$?
if ((status != 0)); then
  echo "alerts tail exited $status after $(wc -l <"$tmp/alerts.ndjson") alerts"; cat "$tmp/tail.err"
  for f in "$tmp"/forwarded-*.log; do echo "== $f"; cat "$f"; done
  exit 1
fi
year=$(date -u +%Y)
for c in rs5424 rs3164; do
  grep -q "\"customer\":\"$c\"" "$tmp/alerts.ndjson" || { echo "no alert for $c"; exit 1; }
done
python3 - "$tmp/alerts.ndjson" "$year" <<'PY' || exit 1
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    assert a["rule"]["name"].startswith("Brute Force"), a["rule"]
    assert a["key"] == ["root"], a["key"]
    assert a["first_event_time"].startswith(sys.argv[2]), a["first_event_time"]
    assert a["decided_by"] == "events", a["decided_by"]
    ev = a["evidence"][-1]
    flat = json.dumps(ev)
    assert "10.9.9.9" in flat and "success" in flat, ev
PY
# hunt over what rsyslog forwarded finds the same.
for f in 5424 3164; do
  "$CHAINWATCH" hunt --no-progress --source syslog --rules config/rules "$tmp/forwarded-$f.log" \
    >"$tmp/hunt_$f.ndjson" 2>/dev/null
  python3 tests/mesh/alertset.py hunt "$tmp/hunt_$f.ndjson" >"$tmp/want_$f"
  python3 tests/mesh/alertset.py mesh "rs$f" "$tmp/alerts.ndjson" >"$tmp/got_$f"
  diff "$tmp/want_$f" "$tmp/got_$f" || { echo "rs$f: mesh != hunt"; exit 1; }
done
echo "linux_auth_rsyslog: ok (brute force from rsyslog in RFC 5424 and RFC 3164, year $year)"
