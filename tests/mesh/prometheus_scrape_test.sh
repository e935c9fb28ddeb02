#!/usr/bin/env bash
# A real Prometheus (the Debian package) scrapes the five services of a running mesh: `up` is 1
# for every target, and the counters Prometheus stores follow the data. `chainwatch replay`
# publishes straight into CW_INGEST (docs/mesh.md, "Ingest paths"), so the demo's 410 lines show up
# in the normalizer's chainwatch_normalizer_events_in_total; the same lines sent over syslog TCP
# go through the ingestor and show up in chainwatch_ingestor_events_in_total{proto="tcp"}.
# Env: SOURCE_DIR, CHAINWATCH.
source "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || skip "prometheus not installed (Debian package prometheus)"
lines=$(wc -l <tests/data/demo.ndjson) # 410

MESH_SOURCES=syslog mesh_start
mesh_alive || exit 1

# One job per service instance, every target from the list scripts/mesh wrote.
prom_port=$(free_port)
prom=http://127.0.0.1:$prom_port
{
  printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n'
  while IFS='=' read -r name addr; do
    printf '  - job_name: %s\n    static_configs:\n      - targets: ["%s"]\n' "$name" "$addr"
  done <"$tmp/run/metrics"
} >"$tmp/prometheus.yml"
jobs=$(cut -d= -f1 "$tmp/run/metrics" | sort | paste -sd,)
[[ $jobs == alerter,ingestor,matcher-1,normalizer,watermark ]] || { echo "unexpected services: $jobs"; exit 1; }
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
extra_pids+=("$!")
until_true 30 curl -sf -o /dev/null "$prom/-/ready" \
  || { echo "prometheus did not become ready on $prom"; cat "$tmp/prometheus.log"; exit 1; }

# query PROMQL CHECK: the API answer is saved in $tmp/answer.json; CHECK (python, on the result
# list r) must hold.
query() {
  curl -sf -G "$prom/api/v1/query" --data-urlencode "query=$1" >"$tmp/answer.json" || return 1
  python3 - "$tmp/answer.json" "$2" 2>"$tmp/check.err" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["data"]["result"] if d.get("status") == "success" else None
sys.exit(0 if r is not None and eval(sys.argv[2], {"r": r}) else 1)
P
}
# expect SECONDS PROMQL CHECK WHAT: polls until the check holds; on timeout shows the last answer.
expect() {
  until_true "$1" query "$2" "$3" && return 0
  echo "FAIL: $4: Prometheus query '$2' never satisfied '$3' in $1 s; last answer:"
  cat "$tmp/answer.json" "$tmp/check.err" 2>/dev/null; echo
  mesh_alive
  exit 1
}

"$CHAINWATCH" replay --nats "$NATS_URL" --customer demo --source ecs --no-progress tests/data/demo.ndjson

all_up="len(r) == 5 and all(x['value'][1] == '1' for x in r) and sorted(x['metric']['job'] for x in r) == '$jobs'.split(',')"
expect 30 'up' "$all_up" "every service scraped (up == 1)"
expect 30 'sum(chainwatch_normalizer_events_in_total)' "len(r) == 1 and float(r[0]['value'][1]) >= $lines" \
  "the normalizer counted the $lines replayed lines"

# The ingestor's own intake: the same lines over syslog TCP (customer default, source syslog).
exec 4<>"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
cat tests/data/demo.ndjson >&4
exec 4>&-
expect 30 'sum(chainwatch_ingestor_events_in_total)' "len(r) == 1 and float(r[0]['value'][1]) >= $lines" \
  "the ingestor counted the $lines lines sent over syslog TCP"
expect 30 'sum(chainwatch_ingestor_events_out_total)' "len(r) == 1 and float(r[0]['value'][1]) >= $lines" \
  "the ingestor stored the $lines lines in CW_INGEST"
expect 10 'up' "$all_up" "every service still scraped"
mesh_alive || exit 1
echo "prometheus_scrape: ok (5 targets up; normalizer and ingestor counted $lines lines each)"
