#!/usr/bin/env bash
# Sigma files load in lint and hunt: a rule that compiles loads; keywords, an unmapped
# logsource and status deprecated are skipped with the reason and the place; a YAML syntax
# error is an error. Over SigmaHQ's corpus (when ../shared/data/sigma is present) lint loads at
# least the count measured when this test was written.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rules"
cat >"$tmp/rules/good.yml" <<'YAML'
title: Whoami
id: 6f0e6b1c-0000-4000-8000-000000000001
level: high
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
---
title: Keywords
id: 6f0e6b1c-0000-4000-8000-000000000002
logsource: {product: windows, service: system}
detection:
  keywords:
    - mimikatz
  condition: keywords
YAML
cat >"$tmp/rules/other.yaml" <<'YAML'
title: Solaris thing
logsource: {product: solaris, category: process_creation}
detection: {sel: {Image: /bin/x}, condition: sel}
---
title: Old
id: 6f0e6b1c-0000-4000-8000-000000000003
status: deprecated
logsource: {product: windows, category: process_creation}
detection: {sel: {Image: x}, condition: sel}
YAML
"$CHAINWATCH" lint "$tmp/rules" >"$tmp/out" 2>&1 || { cat "$tmp/out"; echo "lint failed"; exit 1; }
cat "$tmp/out"
grep -q "lint: 1 rules, 0 errors, 0 warnings, 3 skipped" "$tmp/out" || { echo "lint counts"; exit 1; }
grep -q "good.yml:15:7: selection 'keywords' lists values without a field (keywords).*(Keywords); skipped" "$tmp/out" ||
  { echo "keywords not skipped with the place"; exit 1; }
grep -q "other.yaml:2:12: no field mapping for logsource product=solaris category=process_creation" "$tmp/out" ||
  { echo "unmapped logsource not skipped"; exit 1; }
grep -q "other.yaml:5:1: status: deprecated (Old); skipped" "$tmp/out" || { echo "deprecated not skipped"; exit 1; }
# The loaded rule runs: Sysmon 1 as Winlogbeat writes it.
printf '%s\n' '{"@timestamp":"2026-01-01T00:00:00Z","winlog":{"event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\Windows\\System32\\WHOAMI.EXE","CommandLine":"whoami"}}}' >"$tmp/ev.json"
"$CHAINWATCH" hunt --no-progress --source windows --rules "$tmp/rules" "$tmp/ev.json" >"$tmp/alerts" 2>/dev/null
grep -q '"rule":"6f0e6b1c-0000-4000-8000-000000000001","name":"Whoami","severity":"high"' "$tmp/alerts" ||
  { cat "$tmp/alerts"; echo "the Sigma rule did not fire"; exit 1; }
# A YAML syntax error is an error.
printf 'title: [broken\n' >"$tmp/rules/bad.yml"
if "$CHAINWATCH" lint "$tmp/rules" >"$tmp/out2" 2>&1; then cat "$tmp/out2"; echo "bad YAML passed"; exit 1; fi
grep -q "bad.yml:.*YAML: " "$tmp/out2" || { cat "$tmp/out2"; exit 1; }

corpus=${SHARED_DATA:-$SOURCE_DIR/../shared/data}/sigma/rules
if [[ -d $corpus ]]; then
  "$CHAINWATCH" lint "$corpus" >"$tmp/corpus" 2>&1 || { tail -5 "$tmp/corpus"; echo "corpus lint failed"; exit 1; }
  tail -1 "$tmp/corpus"
  loaded=$(sed -n 's/^lint: \([0-9]*\) rules.*/\1/p' "$tmp/corpus")
  ((loaded >= 2586)) || { echo "SigmaHQ corpus: $loaded rules load, fewer than 2586"; exit 1; }
fi
echo "sigma_lint: ok"
