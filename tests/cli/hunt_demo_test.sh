#!/usr/bin/env bash
# The bundled demo: its four detections (brute force then success, download then POST to a
# listed domain, a password spray, the C2 address on the indicator list) fire exactly once,
# and shuffling arrival order within the lateness bound changes nothing.
set -euo pipefail
cd "$SOURCE_DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$CHAINWATCH" hunt --no-progress --rules config/rules --lists config/lists tests/data/demo.ndjson \
  >"$tmp/out.ndjson" 2>"$tmp/err"
cat "$tmp/err"
lines=$(wc -l <"$tmp/out.ndjson")
[[ $lines -eq 4 ]] || { echo "expected 4 matches, got $lines"; cat "$tmp/out.ndjson"; exit 1; }
grep -q '"rule":"5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01".*"key":\["svc-backup"\]' "$tmp/out.ndjson" \
  || { echo "brute force on svc-backup not found"; exit 1; }
grep -q '"rule":"9b7f3c1d-2e4a-4b8c-8d6e-3a1f5e7c9d02".*"key":\["10.20.0.16"\]' "$tmp/out.ndjson" \
  || { echo "download-then-POST from ws-07 not found"; exit 1; }
grep -q '"rule":"31480efa-5207-4b85-b018-112f02bba705".*"key":\["10.20.0.5"\]' "$tmp/out.ndjson" \
  || { echo "password spray from 10.20.0.5 not found"; exit 1; }
grep -q '"rule":"ccf08d18-0eb4-420f-8284-df72f9314884".*"key":\[\].*"203.0.113.162"' "$tmp/out.ndjson" \
  || { echo "threat-intel match on the C2 address not found"; exit 1; }
# Six events bound in the brute force (five failures, one success).
bf=$(grep '5d2c8a4e' "$tmp/out.ndjson" | grep -o '"@timestamp"' | wc -l)
[[ $bf -eq 6 ]] || { echo "brute force binds $bf events, expected 6"; exit 1; }

# Reverse every block of 8 lines: events arrive out of order by a few seconds.
awk '{ buf[NR % 8] = $0; if (NR % 8 == 0) { for (i = 0; i < 8; i++) print buf[(8 - i) % 8] } }
     END { r = NR % 8; for (i = r; i >= 1; i--) print buf[i] }' tests/data/demo.ndjson >"$tmp/shuffled.ndjson"
[[ $(wc -l <"$tmp/shuffled.ndjson") -eq $(wc -l <tests/data/demo.ndjson) ]]
"$CHAINWATCH" hunt --no-progress --rules config/rules --lists config/lists "$tmp/shuffled.ndjson" \
  >"$tmp/out2.ndjson" 2>/dev/null
diff <(sort "$tmp/out.ndjson") <(sort "$tmp/out2.ndjson") || { echo "shuffled input changed the result"; exit 1; }
echo "hunt_demo: ok"
