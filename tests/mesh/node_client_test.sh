#!/usr/bin/env bash
# A client that is not ours: the npm `nats` package (pinned in tests/mesh/node/package-lock.json)
# subscribes to cw.alerts.> and receives the demo's four alerts as JSON with rule.id and key.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node not installed (scripts/bootstrap installs nodejs npm)"
command -v npm >/dev/null || skip "npm not installed (scripts/bootstrap installs nodejs npm)"
need_npm_registry
mkdir -p "$tmp/node"
cp tests/mesh/node/{package.json,package-lock.json,sub_alerts.js} "$tmp/node/"
(cd "$tmp/node" && timeout 120 npm ci --no-audit --no-fund >npm.log 2>&1) \
  || { cat "$tmp/node/npm.log"; skip "npm ci of the nats package failed (no registry access?)"; }

MESH_SOURCES=windows mesh_start --matchers 2
mesh_alive || exit 1
node "$tmp/node/sub_alerts.js" "$NATS_URL" 'cw.alerts.>' 4 90000 >"$tmp/alerts.ndjson" 2>"$tmp/node.err" &
sub=$!; extra_pids+=("$sub")
until_true 30 grep -q subscribed "$tmp/node.err" || { echo "node client did not subscribe"; cat "$tmp/node.err"; exit 1; }
"$CHAINWATCH" replay --nats "$NATS_URL" --customer demo --source ecs --no-progress tests/data/demo.ndjson
status=0; wait_client "$sub" 100 || status=$?
((status == 0)) || { echo "node client exited $status"; cat "$tmp/node.err" "$tmp/alerts.ndjson"; exit 1; }
cat "$tmp/alerts.ndjson"
[[ $(wc -l <"$tmp/alerts.ndjson") -eq 4 ]] || { echo "expected 4 alerts"; exit 1; }
grep -q '"subject":"cw.alerts.demo.high.5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01","rule_id":"5d2c8a4e-6c2b-4f7e-9a51-2f0f0c7a1b01","key":\["svc-backup"\]' "$tmp/alerts.ndjson" \
  || { echo "brute force on svc-backup missing"; exit 1; }
grep -q '"rule_id":"9b7f3c1d-2e4a-4b8c-8d6e-3a1f5e7c9d02","key":\["10.20.0.16"\]' "$tmp/alerts.ndjson" \
  || { echo "download-then-POST missing"; exit 1; }
echo "node_client: ok"
