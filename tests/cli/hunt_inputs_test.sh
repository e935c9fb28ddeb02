#!/usr/bin/env bash
# `chainwatch hunt` reads NDJSON, JSON arrays, gzip and stdin alike; malformed lines are
# reported with file:line, skipped and counted; late events are counted; bad flags exit 2.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
hunt=("$CHAINWATCH" hunt --no-progress --rules config/rules --lists config/lists)

"${hunt[@]}" tests/data/demo.ndjson 2>/dev/null | sort >"$tmp/ref"
[[ $(wc -l <"$tmp/ref") -eq 4 ]] # the demo's four alerts

gzip -c tests/data/demo.ndjson >"$tmp/demo.ndjson.gz"
"${hunt[@]}" "$tmp/demo.ndjson.gz" 2>/dev/null | sort | diff "$tmp/ref" - || { echo "gzip differs"; exit 1; }
"${hunt[@]}" - <tests/data/demo.ndjson 2>/dev/null | sort | diff "$tmp/ref" - || { echo "stdin differs"; exit 1; }
{ echo "["; sed '$!s/$/,/' tests/data/demo.ndjson; echo "]"; } >"$tmp/demo.json"
"${hunt[@]}" "$tmp/demo.json" 2>/dev/null | sort | diff "$tmp/ref" - || { echo "JSON array differs"; exit 1; }
"${hunt[@]}" - <"$tmp/demo.json" 2>/dev/null | sort | diff "$tmp/ref" - || { echo "JSON array on stdin differs"; exit 1; }

# Malformed lines: reported with file:line, skipped, counted; the result is unchanged.
{ head -n 3 tests/data/demo.ndjson; echo '{"broken": '; echo 'not json'; echo '{"no_time": 1}';
  tail -n +4 tests/data/demo.ndjson; } >"$tmp/bad.ndjson"
"${hunt[@]}" "$tmp/bad.ndjson" 2>"$tmp/err" | sort | diff "$tmp/ref" - || { echo "malformed input changed the result"; exit 1; }
grep -q "bad.ndjson:4: " "$tmp/err" || { echo "no file:line for line 4"; cat "$tmp/err"; exit 1; }
grep -q "bad.ndjson:5: " "$tmp/err" || { echo "no file:line for line 5"; exit 1; }
grep -q "bad.ndjson:6: no valid timestamp" "$tmp/err" || { echo "no timestamp error for line 6"; exit 1; }
grep -q " 3 malformed" "$tmp/err" || { echo "summary does not count 3 malformed"; exit 1; }

# An event far behind the newest is late: counted, not matched.
{ cat tests/data/demo.ndjson; echo '{"@timestamp":"2026-11-02T08:00:00Z","event":{"category":["authentication"],"outcome":"failure"},"user":{"name":"x"}}'; } >"$tmp/late.ndjson"
"${hunt[@]}" "$tmp/late.ndjson" 2>"$tmp/err2" >/dev/null
grep -q " 1 late" "$tmp/err2" || { echo "late event not counted"; cat "$tmp/err2"; exit 1; }

# Usage errors exit 2 with a message.
set +e
"$CHAINWATCH" hunt --no-progress -q 'any where true' --lateness 5x tests/data/demo.ndjson 2>"$tmp/err3"; rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q "invalid --lateness" "$tmp/err3" || { echo "bad --lateness not rejected"; exit 1; }
echo "hunt_inputs: ok"
