#!/usr/bin/env bash
# Linux authentication logs from a real rsyslog into the running mesh: sshd's failed logins then
# a success (the bundled brute-force rule, and Elastic's single-step `with runs=5` shape of the
# SSH brute force) are sent with logger to an rsyslogd, which forwards
# them to the ingestor's syslog listeners over TCP in RFC 5424 (RSYSLOG_SyslogProtocol23Format)
# and in RFC 3164 (RSYSLOG_TraditionalForwardFormat: no year), and over UDP in RFC 3164, and
# writes the same frames and an auth.log to files. Each listener's customer gets the brute-force
# alert, in this year (the ingest time gives year-less dates their year), and `chainwatch hunt
# --source syslog` over the files rsyslog wrote finds the same alerts.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
command -v rsyslogd >/dev/null || skip "rsyslogd not installed (Debian package rsyslog)"
command -v logger >/dev/null || skip "logger not installed"

p5424=$(free_port); p3164=$(free_port); pudp=$(free_port); pin=$(free_port)
export CHAINWATCH_WATERMARK_WATERMARK_IDLE_TIMEOUT=2s # a live source: it goes idle
# The bundled rules (the starter pack's Linux SSH brute force then success) and Elastic's shape
# of the Linux SSH brute force (one step with runs=5).
rules=$tmp/rules; mkdir -p "$rules"
cp config/rules/*.toml tests/mesh/rules/linux_ssh_brute_force_runs.toml "$rules/"
MESH_SOURCES=syslog mesh_start --matchers 1 --rules "$rules" \
  --listeners "tcp:127.0.0.1:$p5424:rs5424:syslog,tcp:127.0.0.1:$p3164:rs3164:syslog,udp:127.0.0.1:$pudp:rsudp:syslog"
mesh_alive || exit 1

mkdir -p "$tmp/rsyslog"
cat >"$tmp/rsyslog.conf" <<CONF
global(workDirectory="$tmp/rsyslog")
module(load="imtcp")
# What omfwd sends in RFC 3164 (its template has no newline: TCP framing adds it), one per line.
template(name="Forwarded3164" type="string"
         string="<%PRI%>%TIMESTAMP% %HOSTNAME% %syslogtag:1:32%%msg:::sp-if-no-1st-sp%%msg%\n")
input(type="imtcp" address="127.0.0.1" port="$pin" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="$p5424" protocol="tcp"
         template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="$p3164" protocol="tcp"
         template="RSYSLOG_TraditionalForwardFormat")
  action(type="omfwd" target="127.0.0.1" port="$pudp" protocol="udp"
         template="RSYSLOG_TraditionalForwardFormat")
  action(type="omfile" file="$tmp/forwarded-5424.log" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfile" file="$tmp/forwarded-3164.log" template="Forwarded3164")
  # /var/log/auth.log as Debian writes it: no PRI, no year.
  action(type="omfile" file="$tmp/auth.log" template="RSYSLOG_TraditionalFileFormat")
}
CONF
rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslog.pid" >"$tmp/rsyslogd.log" 2>&1 &
extra_pids+=($!)
until_true 20 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$pin) 2>/dev/null" || { echo "rsyslogd did not listen"; cat "$tmp/rsyslogd.log"; exit 1; }

"$CHAINWATCH" alerts tail --nats "$NATS_URL" --count 6 --timeout 90s --json >"$tmp/alerts.ndjson" 2>"$tmp/tail.err" &
tail_pid=$!; extra_pids+=("$tail_pid")
until_true 30 subscribed '"cw.alerts.' || { echo "alerts tail did not subscribe"; exit 1; }
send() { logger -n 127.0.0.1 -P "$pin" -T --rfc3164 -p auth.info -t sshd --id=4242 "$1"; }
for i in 1 2 3 4 5; do send "Failed password for root from 10.9.9.9 port 5${i}022 ssh2"; done
send "Accepted password for root from 10.9.9.9 port 51999 ssh2"
status=0; wait_client "$tail_pid" 120 || status=$?
if ((status != 0)); then
  echo "alerts tail exited $status after $(wc -l <"$tmp/alerts.ndjson") alerts"; cat "$tmp/tail.err"
  for f in "$tmp"/forwarded-*.log; do echo "== $f"; cat "$f"; done
  exit 1
fi
year=$(date -u +%Y)
for c in rs5424 rs3164 rsudp; do
  grep -q "\"customer\":\"$c\"" "$tmp/alerts.ndjson" || { echo "no alert for $c"; exit 1; }
done
python3 - "$tmp/alerts.ndjson" "$year" <<'PY' || exit 1
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a["rule"]["name"].startswith("Linux SSH Brute Force"):  # the starter pack's sequence
        assert a["key"][1] == "10.9.9.9", a["key"]
    else:
        assert "single step with runs" in a["rule"]["name"], a["rule"]
        assert a["key"][1] == "10.9.9.9", a["key"]
        assert len(a["evidence"]) == 5, len(a["evidence"])
        continue
    assert a["first_event_time"].startswith(sys.argv[2]), a["first_event_time"]
    assert a["decided_by"] == "events", a["decided_by"]
    ev = a["evidence"][-1]
    flat = json.dumps(ev)
    assert "10.9.9.9" in flat and "success" in flat, ev
PY
# hunt over what rsyslog forwarded finds the same, and over the auth.log it wrote.
"$CHAINWATCH" hunt --no-progress --source syslog --rules "$rules" "$tmp/auth.log" >"$tmp/hunt_file.ndjson" 2>/dev/null
python3 tests/mesh/alertset.py hunt "$tmp/hunt_file.ndjson" >"$tmp/want_file"
for c in rs5424 rs3164 rsudp; do
  diff "$tmp/want_file" <(python3 tests/mesh/alertset.py mesh "$c" "$tmp/alerts.ndjson") ||
    { echo "$c: mesh != hunt over auth.log"; cat "$tmp/auth.log"; exit 1; }
done
for f in 5424 3164; do
  "$CHAINWATCH" hunt --no-progress --source syslog --rules "$rules" "$tmp/forwarded-$f.log" \
    >"$tmp/hunt_$f.ndjson" 2>/dev/null
  python3 tests/mesh/alertset.py hunt "$tmp/hunt_$f.ndjson" | diff "$tmp/want_file" - ||
    { echo "hunt over the $f frames differs"; cat "$tmp/forwarded-$f.log"; exit 1; }
done
echo "linux_auth_rsyslog: ok (brute force from rsyslog over TCP in RFC 5424 and RFC 3164 and over UDP, year $year)"
