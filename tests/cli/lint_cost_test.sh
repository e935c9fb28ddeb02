#!/usr/bin/env bash
# `chainwatch lint` cost warnings: an unkeyed sequence without maxspan whose second step has no
# indexable condition and a regex is reported four times, each at its place in the rule file
# (file:line:col, the line and a caret), tagged with its reason; warnings leave the exit status
# 0; --no-cost silences them; the bundled and mesh test rules have none.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/cost.toml" <<'TOML'
[rule]
rule_id = "cost-1"
name = "Costly"
query = '''
sequence
  [process where process.name == "curl"]
  [file where file.path regex~ "/tmp/.*"]
'''
TOML
"$CHAINWATCH" lint "$tmp/cost.toml" 2>"$tmp/err" || { cat "$tmp/err"; echo "lint failed on warnings"; exit 1; }
cat "$tmp/err"
want() { grep -qF -- "$1" "$tmp/err" || { echo "missing: $1"; exit 1; }; }
want "cost.toml:5:1: warning: sequence without join keys (by): the partial matches of the whole stream share one key's state, held by one partition [cost:unkeyed]"
want "cost.toml:5:1: warning: sequence without maxspan: partial matches never expire, bounded only by max_pending_per_key (1000 per key) [cost:unbounded]"
want "cost.toml:7:3: warning: step 2 has no indexable condition (no field ==, : or in with literal values among its and-ed terms): it is evaluated on every event whose event.category is \"file\" [cost:unindexed]"
want "cost.toml:7:25: warning: regex \"/tmp/.*\" is evaluated on every event whose event.category is \"file\": step 2 has no indexable condition [cost:scan]"
want "lint: 1 rules, 0 errors, 4 warnings, 0 skipped"
# The regex warning shows its line with the caret under `regex~` (column 25).
grep -A2 -F "cost.toml:7:25:" "$tmp/err" | sed -n 3p | grep -qx ' \{24\}\^' || { echo "no caret at column 25"; exit 1; }
# Step 1 is indexed by process.name: no warning names it.
if grep -q "cost.toml:6:" "$tmp/err"; then echo "a warning on the indexed step 1"; exit 1; fi

"$CHAINWATCH" lint --no-cost "$tmp/cost.toml" 2>"$tmp/quiet"
grep -q "warning:" "$tmp/quiet" && { cat "$tmp/quiet"; echo "--no-cost still warns"; exit 1; }
grep -qF "lint: 1 rules, 0 errors, 0 warnings, 0 skipped" "$tmp/quiet" || { cat "$tmp/quiet"; exit 1; }

# Keyed, bounded and indexed: the mesh tests' rules cost nothing to warn about. The starter pack
# has one true cost: the firewall rule's allow step (an `or` over two fields) has no index.
"$CHAINWATCH" lint tests/mesh/rules 2>"$tmp/own"
grep -q " 0 errors, 0 warnings" "$tmp/own" || { cat "$tmp/own"; echo "tests/mesh/rules: warnings"; exit 1; }
"$CHAINWATCH" lint config/rules 2>"$tmp/own"
grep -q " 0 errors, 1 warnings" "$tmp/own" && grep -q "firewall_deny_burst_then_allow.toml:27:3: warning: step 2 has no indexable condition" "$tmp/own" ||
  { cat "$tmp/own"; echo "config/rules: want only the firewall rule's unindexed step"; exit 1; }
echo "lint cost: ok"
