#!/usr/bin/env bash
# End-to-end pipeline benchmark: generates N raw ECS events + 100 rules, brings up the mesh with
# scripts/mesh on free ports (nats-server -js -m, 5 services, 1 matcher), publishes the events
# into CW_INGEST the way `chainwatch replay` does, measures events/s, watermark-to-alert latency,
# slow consumers and per-service CPU, then raw core NATS pub->sub for the same bytes on the same
# server; prints a table and appends it to bench/pipeline/RESULTS.md.
#
#   bench/pipeline/run.sh [--events N] [--matchers M] [--partitions P] [--lateness DURATION]
#                         [--rate EV_PER_S] [--bin DIR] [--bench BIN] [--sources DIR] [--keep]
#                         [--no-results] [--runs K]
# --runs K: K whole runs, each on a fresh mesh, then the median of their ratios to raw NATS and
# of their rates (one run's ratio spans 0.10-0.18 on a shared 2-vCPU VM).
# Env: CHAINWATCH_BIN (service binaries, default build/bin), BENCH (the tool).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
events=300000
matchers=1
partitions=8
lateness=20ms
bin=${CHAINWATCH_BIN:-$root/build/bin}
bench=${BENCH:-}
keep=0
rate=0
sources=
results=$root/bench/pipeline/RESULTS.md
while (($#)); do
  case $1 in
    --events) events=$2; shift 2 ;;
    --matchers) matchers=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --lateness) lateness=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --bin) bin=$(cd "$2" && pwd); shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --sources) sources=$(cd "$2" && pwd); shift 2 ;;
    --keep) keep=1; shift ;;
    --no-results) results=; shift ;;
    --runs) runs=$2; shift 2 ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done
if ((${runs:-1} > 1)); then
  one=(--events "$events" --matchers "$matchers" --partitions "$partitions" --lateness "$lateness" --rate "$rate" --bin "$bin")
  [[ -n $bench ]] && one+=(--bench "$bench")
  [[ -n $sources ]] && one+=(--sources "$sources")
  [[ -n $results ]] || one+=(--no-results)
  ratios=(); rates=()
  for ((k = 1; k <= runs; k++)); do
    out=$("$0" "${one[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
    echo "$out" | grep -E 'end-to-end events/s|pipeline / raw NATS \(event' >&2
    rates+=("$(echo "$out" | sed -n 's/.*\*\*\([0-9]*\) ev\/s\*\*.*/\1/p' | head -1)")
    ratios+=("$(echo "$out" | sed -n 's/.*pipeline \/ raw NATS (event-sized msgs) | \([0-9.]*\).*/\1/p' | head -1)")
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  echo "== $runs runs: ev/s ${rates[*]} (median $(median "${rates[@]}")); ratio to raw NATS ${ratios[*]} (median $(median "${ratios[@]}"))"
  exit 0
fi
[[ -n $bench ]] || bench=$bin/chainwatch-bench-pipeline
for b in "$bench" "$bin"/chainwatch-{ingestor,normalizer,watermark,matcher,alerter}; do
  [[ -x $b ]] || { echo "run.sh: $b not built" >&2; exit 1; }
done
command -v nats-server >/dev/null || { echo "run.sh: nats-server not installed" >&2; exit 1; }

work=$(mktemp -d /tmp/chainwatch-pbench.XXXXXX)
run=$work/mesh
cleanup() {
  CHAINWATCH_BIN=$bin "$root/scripts/mesh" down --run-dir "$run" >/dev/null 2>&1 || true
  if ((keep)); then echo "run.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A base with 8 consecutive free ports for the services' metrics.
free_base() {
  python3 - <<'PY'
import socket, random
for _ in range(200):
    b = random.randint(20000, 60000); ok = True
    for p in range(b, b + 8):
        s = socket.socket()
        try: s.bind(("127.0.0.1", p))
        except OSError: ok = False
        finally: s.close()
        if not ok: break
    if ok: print(b); break
PY
}
nats_port=$(free_port); mon_port=$(free_port); syslog_port=$(free_port); metrics_base=$(free_base)

echo "== generating $events events and 100 rules in $work" >&2
"$bench" gen --events "$events" --out "$work/events.ndjson" --rules-dir "$work/rules"

# Normalizer source tables: the committed ones (git show, read-only), so work in progress in
# config/sources (tables newer than the binaries) cannot stop the normalizer. --sources DIR overrides.
if [[ -z $sources ]]; then
  sources=$work/sources; mkdir -p "$sources"
  if files=$(git -C "$root" ls-tree --name-only HEAD config/sources/ 2>/dev/null) && [[ -n $files ]]; then
    for f in $files; do git -C "$root" show "HEAD:$f" >"$sources/$(basename "$f")"; done
  else
    cp "$root"/config/sources/*.toml "$sources"/
  fi
fi

echo "== mesh up (nats :$nats_port, monitor :$mon_port, metrics from :$metrics_base, lateness $lateness)" >&2
mkdir -p "$run"
CHAINWATCH_WATERMARK_WATERMARK_LATENESS=$lateness CHAINWATCH_NORMALIZER_NORMALIZER_SOURCES_DIR=$sources \
  CHAINWATCH_BIN=$bin \
  "$root/scripts/mesh" up --matchers "$matchers" --partitions "$partitions" --rules "$work/rules" --lists "$root/config/lists" \
  --nats-port "$nats_port" --metrics-base "$metrics_base" --syslog-port "$syslog_port" \
  --monitor-port "$mon_port" --run-dir "$run" >&2
# Services are up once each serves metrics.
while IFS== read -r name hp; do
  for _ in $(seq 1 100); do curl -sf "http://$hp/metrics" >/dev/null && break; sleep 0.1; done
done <"$run/metrics"
for f in "$run"/*.pid; do
  kill -0 "$(cat "$f")" 2>/dev/null || { n=$(basename "$f" .pid); echo "run.sh: $n died:" >&2; tail -n 5 "$run/$n.log" >&2; exit 1; }
done

lateness_ms=$(python3 -c "
import re,sys; m=re.fullmatch(r'(\d+(?:\.\d+)?)(ns|us|ms|s|m)','$lateness')
print(int(float(m[1])*{'ns':1e-6,'us':1e-3,'ms':1,'s':1e3,'m':6e4}[m[2]]))")
cmd="bench/pipeline/run.sh --events $events --matchers $matchers --partitions $partitions --lateness $lateness --rate $rate (bin $bin)"
echo "== running" >&2
status=0
# PERF=<instance> (e.g. PERF=matcher-1): sample that service with perf during the run.
perf_pid=
if [[ -n ${PERF:-} ]]; then
  perf record -F 499 ${PERF_CALLGRAPH:--g} -p "$(cat "$run/$PERF.pid")" -o "$work/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
fi
"$bench" run --nats "nats://127.0.0.1:$nats_port" --run-dir "$run" --monitor "$mon_port" \
  --events "$work/events.ndjson" --customer bench --lateness-ms "$lateness_ms" --rate "$rate" \
  ${results:+--results "$results"} --command "$cmd" || status=$?
if [[ -n $perf_pid ]]; then
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
  echo "== perf: $PERF, self time (top 40)" >&2
  perf report -i "$work/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | sed -E 's/ +/ /g; s/ - - *$//' | cut -c1-160 | head -40 >&2
fi
exit $status
