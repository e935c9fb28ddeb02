#!/usr/bin/env bash
# `chainwatch hunt` throughput with a large rule corpus against 100 of its rules, over a mixed
# ECS workload made from the third-party data (../shared/data): the Windows AD playbook, Zeek
# (ssh, dns, http, conn), Linux auth and O365 audit logs, normalized once.
#
#   bench/corpus/run.sh --rules DIR [--size 1700] [--rounds 3]
#
# DIR is a detection-rules tree (Elastic's corpus, or a part of it). Only the rules that load
# are used (lint decides). When DIR holds fewer than --size loadable rules, the set is filled up
# with copies of them whose quoted string constants get a suffix: a copy has the shape and cost
# of its original (same fields, operators, index choice) but its own conditions, as distinct
# rules of a real corpus have; rules interned as identical would cost nothing. The two sets run
# alternately --rounds times in the same run; the ratio of their rates is the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CHAINWATCH_BIN:-$root/build/bin}/chainwatch
data=${CHAINWATCH_SHARED_DATA:-$root/../shared/data}
rules="" size=1700 rounds=3
while (($#)); do
  case $1 in
  --rules) rules=$2; shift 2 ;;
  --size) size=$2; shift 2 ;;
  --rounds) rounds=$2; shift 2 ;;
  *) echo "usage: $0 --rules DIR [--size N] [--rounds N]" >&2; exit 2 ;;
  esac
done
[[ -d $rules ]] || { echo "--rules DIR is required" >&2; exit 2; }
tmp=$(mktemp -d); [[ -n ${KEEP:-} ]] || trap 'rm -rf "$tmp"' EXIT; echo "work dir: $tmp" >&2

# The workload.
work=$tmp/workload.ndjson
{
  "$bin" normalize --source windows "$data/windows/purplesharp_ad_playbook_I.json"
  for f in "$data"/zeek/wrccdc/*.log.gz "$data"/zeek/simda/*.log "$data"/zeek/ssh_scan/ssh.log; do
    "$bin" normalize --source zeek "$f"
  done
  "$bin" normalize --source syslog "$data"/normalization/system/auth/* 2>/dev/null || true
  for f in "$data"/normalization/o365/audit/*.json; do
    [[ $f == *expected.json ]] || "$bin" normalize --source o365 "$f"
  done
} >"$tmp/normalized" 2>/dev/null
grep -v '^{"error"' "$tmp/normalized" >"$work"
events=$(wc -l <"$work")

# threat_match rules read their indicators from lists: one small list per indicator field.
mkdir -p "$tmp/lists"
grep -rhoE 'value = "threat\.indicator\.[A-Za-z0-9_.]+"' "$rules" | sed 's/.*"\(.*\)"/\1/' | sort -u |
  while read -r name; do printf '# benchmark indicators\n198.51.100.250\n' >"$tmp/lists/$name.strings.txt"; done
lists=(--lists "$tmp/lists" --lists "$root/config/lists")

# The loadable rules: every file lint neither refuses nor skips.
find "$rules" -name '*.toml' | sort >"$tmp/all"
"$bin" lint "${lists[@]}" "$rules" 2>"$tmp/lint" >/dev/null || true
{ grep -v ': warning:' "$tmp/lint" | grep -oE '^[^:]+\.toml' || true; } | sort -u >"$tmp/bad"
comm -23 "$tmp/all" "$tmp/bad" >"$tmp/good"
loadable=$(wc -l <"$tmp/good")
python3 "$root/bench/corpus/make_sets.py" "$tmp/good" "$tmp/set_small" "$tmp/set_large" "$size"
# Copies that no longer load (a mutated constant that was a list name, say) are dropped.
"$bin" lint "${lists[@]}" "$tmp/set_large" 2>"$tmp/lint_large" >/dev/null || true
{ grep -v ': warning:' "$tmp/lint_large" | grep -oE '^[^:]+\.toml' || true; } | sort -u |
  while read -r f; do rm -f "$f" "$tmp/set_small/$(basename "$f")"; done
n_small=$(find "$tmp/set_small" -name '*.toml' | wc -l)
n_large=$(find "$tmp/set_large" -name '*.toml' | wc -l)

rate() { # DIR -> events/s (CPU seconds of the hunt)
  local t0 t1
  /usr/bin/time -f '%U %S' -o "$tmp/time" "$bin" hunt --no-progress "${lists[@]}" --rules "$1" "$work" >/dev/null 2>&1 || true
  python3 -c "u,s=open('$tmp/time').read().split()[:2]; print(int($events/(float(u)+float(s))))"
}
echo "workload: $events events; corpus: $loadable loadable rules of $(wc -l <"$tmp/all") files; sets: $n_small and $n_large rules"
for r in $(seq 1 "$rounds"); do
  a=$(rate "$tmp/set_small"); b=$(rate "$tmp/set_large")
  echo "round $r: $n_small rules $a events/s, $n_large rules $b events/s, ratio $(python3 -c "print(round($b/$a, 3))")"
done
