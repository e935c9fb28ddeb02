#!/usr/bin/env bash
# The services' pure stages chained in one process (`chainwatch-bench-pipeline stages`: the
# normalizer's pipeline, the watermark's router_stage, the matcher's partition actors) find
# exactly the matches `chainwatch hunt` finds on the same generated events and rules, with the
# same lateness. Keeps the stage bench honest and checks the stages without NATS.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BENCH" gen --events 30000 --out "$tmp/events.ndjson" --rules-dir "$tmp/rules" >/dev/null
"$BENCH" stages --events "$tmp/events.ndjson" --rules-dir "$tmp/rules" --lists config/lists \
  --repeat 1 --matches "$tmp/stages.ndjson"
"$CHAINWATCH" hunt --no-progress --rules "$tmp/rules" --lists config/lists --lateness 20ms \
  "$tmp/events.ndjson" >"$tmp/hunt.ndjson" 2>/dev/null
python3 tests/mesh/alertset.py hunt "$tmp/hunt.ndjson" >"$tmp/want"
python3 tests/mesh/alertset.py stages "$tmp/stages.ndjson" >"$tmp/got"
n=$(wc -l <"$tmp/want")
((n >= 100)) || { echo "hunt found only $n matches"; exit 1; }
diff "$tmp/want" "$tmp/got" >"$tmp/diff" || {
  echo "the stages differ from hunt ($n matches in hunt):"; head -20 "$tmp/diff"; exit 1; }
echo "stages == hunt: $n matches"
