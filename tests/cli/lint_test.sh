#!/usr/bin/env bash
# `chainwatch lint`: the shipped rules are clean; a broken rule is reported as
# file:line:col with the line and a caret, and the exit code says so.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$CHAINWATCH" lint config/rules

cat >"$tmp/bad.toml" <<'TOML'
[rule]
rule_id = "bad-1"
name = "Broken"
query = '''
sequence by user.name with maxspan=5m
  [authentication where event.outcome == ]
'''
TOML
if "$CHAINWATCH" lint "$tmp/bad.toml" 2>"$tmp/err"; then
  echo "lint accepted a broken rule"; exit 1
fi
cat "$tmp/err"
grep -qE "bad.toml:6:[0-9]+: error: " "$tmp/err" || { echo "no file:line:col error"; exit 1; }
grep -q '\^' "$tmp/err" || { echo "no caret"; exit 1; }

"$CHAINWATCH" lint --query 'sequence [process where true] [file where true]' 2>"$tmp/warn"
grep -q "warning: sequence without maxspan" "$tmp/warn" || { echo "no maxspan warning"; exit 1; }
echo "lint: ok"
