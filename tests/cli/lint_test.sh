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

# An unclosed step at the end of the query: both positions are the file's (the step opens on
# file line 8, column 3; the query ends after "true" on that line), and the caret line shows it.
cat >"$tmp/open.toml" <<'TOML'
[rule]
rule_id = "open-1"
name = "Unclosed"
language = "eql"
query = '''
sequence by host.id with maxspan=1m
  [process where true]
  [network where true
'''
TOML
"$CHAINWATCH" lint "$tmp/open.toml" 2>"$tmp/err2" && { echo "lint accepted an unclosed step"; exit 1; }
cat "$tmp/err2"
grep -q "open.toml:8:22: error: expected ']' to close the step opened at 8:3, found end of query" "$tmp/err2" ||
  { echo "positions are not the file's"; exit 1; }
sed -n 2p "$tmp/err2" | grep -q '\[network where true' || { echo "the caret line does not show the query line"; exit 1; }

# Rules chainwatch does not run are skipped with one warning each (file: reason), and the run
# goes on: machine_learning (no query) and esql. A type whose settings do not fit is an error
# (an EQL query under type = "threshold" must not alert on every event), and so is a duplicate
# rule_id.
mkdir -p "$tmp/mixed"
cp config/rules/*.toml "$tmp/mixed/"
printf '[rule]\nrule_id = "ml-1"\nname = "ML"\ntype = "machine_learning"\nanomaly_threshold = 75\nmachine_learning_job_id = "x"\n' >"$tmp/mixed/ml.toml"
printf '[rule]\nrule_id = "esql-1"\nname = "ES|QL"\ntype = "esql"\nlanguage = "esql"\nquery = "from logs-*"\n' >"$tmp/mixed/esql.toml"
"$CHAINWATCH" lint "$tmp/mixed" 2>"$tmp/mixed.err" || { cat "$tmp/mixed.err"; echo "lint failed on skipped rules"; exit 1; }
for f in ml esql; do
  grep -q "mixed/$f.toml: .*; skipped" "$tmp/mixed.err" || { cat "$tmp/mixed.err"; echo "no skip warning for $f"; exit 1; }
done
"$CHAINWATCH" hunt --no-progress --rules "$tmp/mixed" --lists config/lists tests/data/demo.ndjson \
  >"$tmp/mixed.out" 2>/dev/null || { echo "hunt stopped on skipped rules"; exit 1; }
[[ $(grep -c . "$tmp/mixed.out") -eq 4 ]] || { echo "hunt with skipped rules: want the 4 demo alerts"; exit 1; }
mkdir -p "$tmp/misfit"
printf '[rule]\nrule_id = "thr-1"\nname = "Threshold"\ntype = "threshold"\nlanguage = "eql"\nquery = "any where true"\n' >"$tmp/misfit/threshold.toml"
printf '[rule]\nrule_id = "thr-2"\nname = "Threshold"\ntype = "threshold"\nlanguage = "kuery"\nquery = "a:b"\n' >"$tmp/misfit/no_settings.toml"
printf '[rule]\nrule_id = "q-1"\nname = "Q"\ntype = "query"\nlanguage = "kuery"\nquery = "a:b"\n[rule.new_terms]\nvalue = ["a"]\n' >"$tmp/misfit/query_new_terms.toml"
if "$CHAINWATCH" lint "$tmp/misfit" 2>"$tmp/misfit.err"; then echo "misfit types accepted"; exit 1; fi
for want in 'threshold.toml:1:1: type = "threshold" takes a KQL or Lucene query, not language = "eql"' \
            'no_settings.toml:1:1: type = "threshold" needs \[rule.threshold\]' \
            'query_new_terms.toml:1:1: \[rule.new_terms\] on a rule of type "query"'; do
  grep -q "$want" "$tmp/misfit.err" || { cat "$tmp/misfit.err"; echo "not reported: $want"; exit 1; }
done
sed 's/^rule_id = .*/rule_id = "ml-1"/' config/rules/brute_force_then_success.toml >"$tmp/mixed/zz_dup.toml"
if "$CHAINWATCH" lint "$tmp/mixed" 2>"$tmp/dup.err"; then echo "duplicate rule_id accepted"; exit 1; fi
grep -q "zz_dup.toml: rule_id ml-1 is also the rule_id of .*/ml.toml" "$tmp/dup.err" ||
  { cat "$tmp/dup.err"; echo "duplicate rule_id not named"; exit 1; }

"$CHAINWATCH" lint --query 'sequence [process where true] [file where true]' 2>"$tmp/warn"
grep -q "warning: sequence without maxspan" "$tmp/warn" || { echo "no maxspan warning"; exit 1; }
echo "lint: ok"
