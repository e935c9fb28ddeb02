#!/usr/bin/env bash
# Year-less (RFC 3164) dates in `chainwatch normalize` and `hunt --source syslog`: the year comes
# from the file's modification time (stdin: now), or from --reference-time; across the year
# boundary both ways. Never 1969/1970.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ts() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["@timestamp"])'; }
line='<34>Dec 31 23:59:58 host sshd[1]: Failed password for root from 10.0.0.5 port 22 ssh2'
jan='<34>Jan  1 00:00:01 host sshd[1]: Accepted password for root from 10.0.0.5 port 22 ssh2'
one='<34>Dec 7 12:14:15 host sshd[1]: Failed password for root from 10.0.0.5 port 22 ssh2'

# Read on Jan 1, 2027: a Dec 31 line is of 2026.
got=$(echo "$line" | "$CHAINWATCH" normalize --source syslog --reference-time 2027-01-01T00:00:05Z 2>/dev/null | ts)
[[ $got == 2026-12-31T23:59:58.000Z ]] || fail "Dec 31 read on Jan 1: $got"
# Received seconds before midnight on Dec 31 from a clock a little ahead: a Jan 1 line is of 2027.
got=$(echo "$jan" | "$CHAINWATCH" normalize --source syslog --reference-time 2026-12-31T23:59:55Z 2>/dev/null | ts)
[[ $got == 2027-01-01T00:00:01.000Z ]] || fail "Jan 1 read on Dec 31: $got"
# One space before a one-digit day.
got=$(echo "$one" | "$CHAINWATCH" normalize --source syslog --reference-time 2026-12-08T00:00:00Z 2>/dev/null | ts)
[[ $got == 2026-12-07T12:14:15.000Z ]] || fail "Dec 7 with one space: $got"
# stdin without a reference: now, so this year or last, never 1969/1970.
got=$(echo "$one" | "$CHAINWATCH" normalize --source syslog 2>/dev/null | ts)
year=$(date -u +%Y)
[[ $got == "$year"-* || $got == "$((year - 1))"-* ]] || fail "stdin: $got"
# A file: its modification time is the reference.
echo "$line" >"$tmp/auth.log"
touch -d 2021-01-02T10:00:00Z "$tmp/auth.log"
got=$("$CHAINWATCH" normalize --source syslog "$tmp/auth.log" 2>/dev/null | ts)
[[ $got == 2020-12-31T23:59:58.000Z ]] || fail "file modified on 2021-01-02: $got"
# The same through hunt: five failures and a success in a file of 2021.
{ for i in 1 2 3 4 5; do echo "<34>Mar  3 10:00:0$i host sshd[1]: Failed password for root from 10.0.0.5 port 22 ssh2"; done
  echo "<34>Mar  3 10:00:09 host sshd[1]: Accepted password for root from 10.0.0.5 port 22 ssh2"; } >"$tmp/brute.log"
touch -d 2021-03-04T00:00:00Z "$tmp/brute.log"
"$CHAINWATCH" hunt --no-progress --source syslog --rules config/rules --lists config/lists "$tmp/brute.log" >"$tmp/out" 2>/dev/null
grep -q '"first":"2021-03-03T10:00:01.000Z"' "$tmp/out" || { cat "$tmp/out"; fail "hunt: no brute force in 2021"; }
"$CHAINWATCH" hunt --no-progress --source syslog --rules config/rules --lists config/lists \
  --reference-time 2024-06-01T00:00:00Z "$tmp/brute.log" >"$tmp/out" 2>/dev/null
grep -q '"first":"2024-03-03T10:00:01.000Z"' "$tmp/out" || { cat "$tmp/out"; fail "hunt: --reference-time not applied"; }
echo "normalize_year: ok"
