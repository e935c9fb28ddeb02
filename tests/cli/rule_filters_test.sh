#!/usr/bin/env bash
# A query rule's `filters` (Elasticsearch query DSL) are and-ed to its query: a negated
# case-insensitive wildcard (with Elasticsearch's backslash escapes), exists, a negated
# match_phrase that also holds where the field is missing; a clause with no EQL form skips the
# rule with the reason.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rules" "$tmp/unsupported"
cat >"$tmp/rules/f.toml" <<'TOML'
[rule]
rule_id = "f-1"
name = "filters"
type = "query"
language = "kuery"
query = "event.category:file"
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."file.path"]
case_insensitive = true
value = "?:\\\\Program Files\\\\*"
[[rule.filters]]
[rule.filters.meta]
negate = false
[rule.filters.query.exists]
field = "file.path"
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.match_phrase]
"user.name" = "svc"
[[rule.filters]]
[rule.filters.meta]
disabled = true
[rule.filters.query.match_phrase]
"user.name" = "bob"
TOML
cat >"$tmp/events.ndjson" <<'NDJSON'
{"@timestamp":"2026-01-01T00:00:01Z","id":1,"event":{"category":"file"},"file":{"path":"C:\\Program Files\\x.ps1"}}
{"@timestamp":"2026-01-01T00:00:02Z","id":2,"event":{"category":"file"},"file":{"path":"C:\\Users\\x.ps1"}}
{"@timestamp":"2026-01-01T00:00:03Z","id":3,"event":{"category":"file"}}
{"@timestamp":"2026-01-01T00:00:04Z","id":4,"event":{"category":"file"},"file":{"path":"D:\\program files\\y"},"user":{"name":"bob"}}
{"@timestamp":"2026-01-01T00:00:05Z","id":5,"event":{"category":"file"},"file":{"path":"C:\\Temp\\y"},"user":{"name":"svc"}}
{"@timestamp":"2026-01-01T00:00:06Z","id":6,"event":{"category":"file"},"file":{"path":"C:\\Temp\\z"},"user":{"name":"bob"}}
NDJSON
"$CHAINWATCH" hunt --no-progress --rules "$tmp/rules" "$tmp/events.ndjson" >"$tmp/out" 2>"$tmp/err" ||
  { cat "$tmp/err"; exit 1; }
got=$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["events"][0]["id"]) for l in open(sys.argv[1])))' "$tmp/out")
[[ $got == "2 6" ]] || { echo "filters: alerts on events '$got', want '2 6'"; exit 1; }

sed 's/\[rule.filters.query.exists\]/[rule.filters.query.geo_distance]/' "$tmp/rules/f.toml" >"$tmp/unsupported/g.toml"
"$CHAINWATCH" lint "$tmp/unsupported" 2>"$tmp/lint" || { cat "$tmp/lint"; echo "lint failed on a skipped rule"; exit 1; }
grep -q 'g.toml: "filters" (Elasticsearch query DSL): query DSL clause geo_distance is not supported; skipped' "$tmp/lint" ||
  { cat "$tmp/lint"; echo "the unsupported filter is not named"; exit 1; }
echo "rule_filters: ok"
