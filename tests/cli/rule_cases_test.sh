#!/usr/bin/env bash
# `chainwatch test`: every bundled rule's cases pass (config/rules/tests/<rule>/<case>/), as do
# the mesh tests' rules' (raw syslog cases among them); a deliberately broken case fails with a
# readable diff and a non-zero exit.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$CHAINWATCH" test config/rules >"$tmp/out" || { cat "$tmp/out"; echo "config/rules cases fail"; exit 1; }
cat "$tmp/out"
grep -q " 0 of 12 rules have no cases" "$tmp/out" || { echo "a bundled rule has no cases"; exit 1; }
"$CHAINWATCH" test tests/mesh/rules/linux_ssh_brute_force_runs.toml >"$tmp/out2" ||
  { cat "$tmp/out2"; echo "the SSH runs rule's cases fail"; exit 1; }

# Break one case: the expected first time is a second off.
cp -r config/rules "$tmp/rules"
exp="$tmp/rules/tests/brute_force_then_success/match/expected.ndjson"
sed -i 's/T10:00:00Z/T10:00:01Z/' "$exp"
if "$CHAINWATCH" test "$tmp/rules" >"$tmp/broken" 2>&1; then
  cat "$tmp/broken"; echo "a broken case passed"; exit 1
fi
cat "$tmp/broken"
grep -q "^FAIL .*brute_force_then_success.toml match: alerts differ" "$tmp/broken" || { echo "no FAIL line"; exit 1; }
grep -q '^  - .*"first":"2026-11-02T10:00:01.000Z"' "$tmp/broken" || { echo "no - line"; exit 1; }
grep -q '^  + .*"first":"2026-11-02T10:00:00.000Z"' "$tmp/broken" || { echo "no + line"; exit 1; }
grep -q "1 failed" "$tmp/broken" || { echo "summary does not count it"; exit 1; }
# A case without expected.ndjson is a failure that says so.
rm "$exp"
"$CHAINWATCH" test "$tmp/rules" >"$tmp/missing" 2>&1 && { echo "a case without expected passed"; exit 1; }
grep -q "match: no expected.ndjson" "$tmp/missing" || { cat "$tmp/missing"; exit 1; }
echo "rule_cases: ok"
