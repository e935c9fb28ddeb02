#!/usr/bin/env bash
# threat_match rules: each mapping entry is a lookup in the list named after the indicator
# field; mappings are alternatives (source.ip or destination.ip listed). A rule whose list is
# missing is an error that names the list and where it goes.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rules" "$tmp/lists"
cat >"$tmp/rules/tm.toml" <<'TOML'
[rule]
rule_id = "tm-1"
name = "Indicator match"
type = "threat_match"
language = "kuery"
query = "event.category:network"
threat_index = ["filebeat-*"]
threat_query = "@timestamp >= \"now-30d/d\""
[[rule.threat_mapping]]
[[rule.threat_mapping.entries]]
field = "destination.ip"
type = "mapping"
value = "threat.indicator.ip"
[[rule.threat_mapping]]
[[rule.threat_mapping.entries]]
field = "source.ip"
type = "mapping"
value = "threat.indicator.ip"
TOML
printf '# documentation ranges\n203.0.113.0/24\n198.51.100.7\n' >"$tmp/lists/threat.indicator.ip.ips.txt"
cat >"$tmp/events.ndjson" <<'NDJSON'
{"@timestamp":"2026-01-01T00:00:01Z","id":1,"event":{"category":"network"},"source":{"ip":"10.0.0.1"},"destination":{"ip":"203.0.113.9"}}
{"@timestamp":"2026-01-01T00:00:02Z","id":2,"event":{"category":"network"},"source":{"ip":"198.51.100.7"},"destination":{"ip":"10.0.0.2"}}
{"@timestamp":"2026-01-01T00:00:03Z","id":3,"event":{"category":"network"},"source":{"ip":"10.0.0.1"},"destination":{"ip":"198.51.100.8"}}
{"@timestamp":"2026-01-01T00:00:04Z","id":4,"event":{"category":"process"},"source":{"ip":"203.0.113.1"}}
NDJSON
"$CHAINWATCH" hunt --no-progress --rules "$tmp/rules" --lists "$tmp/lists" "$tmp/events.ndjson" \
  >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; echo "hunt failed"; exit 1; }
got=$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["events"][0]["id"]) for l in open(sys.argv[1])))' "$tmp/out")
[[ $got == "1 2" ]] || { echo "threat_match: alerts on events '$got', want '1 2'"; exit 1; }

if "$CHAINWATCH" hunt --no-progress --rules "$tmp/rules" --lists "$tmp/rules" "$tmp/events.ndjson" \
  >/dev/null 2>"$tmp/err2"; then echo "a threat_match rule without its list ran"; exit 1; fi
grep -q 'tm.toml:1:1: error: threat_match: no lookup list "threat.indicator.ip" holds the indicators for destination.ip' "$tmp/err2" ||
  { cat "$tmp/err2"; echo "the missing list is not named"; exit 1; }
echo "threat_match: ok"
