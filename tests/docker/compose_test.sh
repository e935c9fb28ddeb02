#!/usr/bin/env bash
# compose.yaml in containers (issue 19), with images built from this tree (scripts/images: the
# base from Debian's packages, cached in /var/cache/chainwatch; chainwatch:latest from build/bin):
#   1. `up -d`: nats, Prometheus, the five services, one matcher; the demo events replayed with
#      `run --rm -T cli chainwatch replay ... -` give the demo alerts (the two attack chains, more
#      with a bigger rule pack) to natscli subscribed to cw.alerts.> on the host, the same alerts
#      as `chainwatch hunt`;
#   2. `up -d --scale matcher=3`: `chainwatch status` shows three matcher nodes (containers) owning
#      the 8 partitions, and Prometheus (/api/v1/targets) has every replica as a target that is up;
#   3. 300 brute-force chains streamed at 150 lines/s and `docker kill` of the matcher container
#      owning most partitions at ~45%: the other two take its partitions over from its
#      checkpoints, and CW_ALERTS (read with natscli) holds exactly hunt's alerts, none twice;
#   4. the same chains again (customer bf2) and `docker network disconnect` of the matcher owning
#      most partitions: it fences itself before the other takes over, rejoins with its
#      partitions when reconnected, and the alerts are again hunt's, none twice.
# Skips when no Docker engine answers. Every wait awaits a condition (status, a metric, a stream
# count, a process exit) with a deadline. Settings on top of compose.yaml: compose.test.yaml.
# Env: SOURCE_DIR, CHAINWATCH; CW_COMPOSE_KEEP=1 leaves the containers up (for debugging).
set -euo pipefail
cd "$SOURCE_DIR"
skip() { echo "SKIPPED: $*"; exit 77; }
command -v docker >/dev/null || skip "docker not installed"
timeout 20 docker info >/dev/null 2>&1 || skip "no Docker engine answers (docker info)"
if docker compose version >/dev/null 2>&1; then compose=(docker compose)
elif command -v docker-compose >/dev/null; then compose=(docker-compose)
else skip "neither docker compose nor docker-compose installed"; fi
command -v nats >/dev/null || skip "natscli (nats) not installed (scripts/bootstrap installs it)"
for c in curl python3; do command -v $c >/dev/null || skip "$c not installed"; done
BIN=$(dirname "$CHAINWATCH")

t0=$SECONDS
step() { echo "[$((SECONDS - t0)) s] $*"; }
tmp=$(mktemp -d)
proj=cwtest$$
# Every published port on any free loopback port (`port` tells which), so nothing on the host
# (scripts/mesh on 4222, another run of this test) is in the way.
export CHAINWATCH_PUBLISH_NATS=127.0.0.1: CHAINWATCH_PUBLISH_NATS_MONITOR=127.0.0.1: \
  CHAINWATCH_PUBLISH_PROMETHEUS=127.0.0.1: CHAINWATCH_PUBLISH_SYSLOG_TCP=127.0.0.1: \
  CHAINWATCH_PUBLISH_SYSLOG_UDP=127.0.0.1:
dc() { "${compose[@]}" -p "$proj" -f compose.yaml -f tests/docker/compose.test.yaml "$@"; }
pids=()
up=0
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if ((up)); then
    if ((rc != 0 && rc != 77)); then dc ps || true; dc logs --no-color --tail=15 2>&1 | tail -n 150 || true; fi
    if [[ ${CW_COMPOSE_KEEP:-0} == 1 ]]; then
      echo "left up: ${compose[*]} -p $proj -f compose.yaml -f tests/docker/compose.test.yaml down -v"
    else
      dc --profile tools down -v -t 5 --remove-orphans >/dev/null 2>&1 || true
    fi
  fi
  [[ ${CW_COMPOSE_KEEP:-0} == 1 ]] && echo "files: $tmp" || rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
# until_true SECONDS cmd...: polls cmd every 0.2 s until it succeeds or the deadline passes.
until_true() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
fail() { echo "FAIL: $*"; exit 1; }

step "images (scripts/images: base cached in ${CHAINWATCH_IMAGE_CACHE:-/var/cache/chainwatch})"
scripts/images --bin "$BIN"

# --- 1. up, the demo alerts ---------------------------------------------------------------------
step "up -d"
up=1
dc up -d --no-build >"$tmp/up.out" 2>&1 || { cat "$tmp/up.out"; fail "compose up"; }
addr() { dc port "$1" "$2" | tail -n 1; }
NATS_URL=nats://$(addr nats 4222)
MON=http://$(addr nats 8222)
PROM=http://$(addr prometheus 9090)
step "NATS $NATS_URL, monitor $MON, Prometheus $PROM"

# matchers N: `chainwatch status` lists N matcher nodes, and each of the 8 partitions has one of
# them as owner (leases granted); writes the owners, "partition node", to $tmp/owners.
matchers() {
  "$CHAINWATCH" status --nats "$NATS_URL" >"$tmp/status" 2>&1 || return 1
  python3 - "$tmp/status" "$1" "$tmp/owners" <<'P'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"^matcher nodes \((\d+)\):\n((?:  .*\n)*)", t, re.M)
nodes = [l.split()[0] for l in m.group(2).splitlines()] if m else []
owners = dict(re.findall(r"^  (\d+)  owner (\S+)", t, re.M))
open(sys.argv[3], "w").write("".join(f"{p} {o}\n" for p, o in sorted(owners.items())))
sys.exit(0 if len(nodes) == int(sys.argv[2]) and len(owners) == 8
         and all(o in nodes for o in owners.values()) else 1)
P
}
until_true 60 matchers 1 || { cat "$tmp/status"; fail "no matcher owns the 8 partitions"; }
step "one matcher owns the 8 partitions"

# What hunt finds in the demo events (two attack chains, and more with a bigger rule pack).
"$CHAINWATCH" hunt --rules config/rules tests/data/demo.ndjson >"$tmp/hunt_demo.ndjson" 2>/dev/null
python3 tests/mesh/alertset.py hunt "$tmp/hunt_demo.ndjson" >"$tmp/want_demo"
demo=$(wc -l <"$tmp/want_demo")
((demo >= 2)) || fail "hunt finds $demo demo alerts, expected at least 2"
subscribed() { curl -sf "$MON/connz?subs=1" | grep -qF "$1"; }
timeout 120 nats -s "$NATS_URL" sub 'cw.alerts.>' --count "$demo" --raw >"$tmp/alerts.ndjson" 2>"$tmp/sub.err" &
sub=$!; pids+=("$sub")
until_true 30 subscribed cw.alerts. || { cat "$tmp/sub.err"; fail "natscli did not subscribe"; }
dc run --rm -T cli chainwatch replay --nats nats://nats:4222 --customer demo --source ecs \
  --no-progress - <tests/data/demo.ndjson >"$tmp/replay.out" 2>&1 || { cat "$tmp/replay.out"; fail "replay"; }
wait "$sub" || { cat "$tmp/sub.err" "$tmp/alerts.ndjson"; fail "natscli got $(grep -c . "$tmp/alerts.ndjson") of $demo alerts"; }
python3 tests/mesh/alertset.py mesh demo "$tmp/alerts.ndjson" >"$tmp/got_demo"
diff "$tmp/want_demo" "$tmp/got_demo" || fail "demo alerts in containers != hunt (< hunt, > containers)"
step "the $demo demo alerts on cw.alerts.> at the host, equal to hunt"

# --- 2. scale to three matchers -----------------------------------------------------------------
dc up -d --no-build --no-recreate --scale matcher=3 >"$tmp/scale.out" 2>&1 || { cat "$tmp/scale.out"; fail "scale"; }
# The leases move one by one as each node sees the new members: wait until the owners stay the
# same for 3 s (a lease; heartbeats come every third of it).
last_owners=; last_change=0
settled_owners() { # N: matchers N, owners unchanged for 3 s
  matchers "$1" || return 1
  local now; now=$(cat "$tmp/owners")
  [[ $now == "$last_owners" ]] || { last_owners=$now; last_change=$SECONDS; return 1; }
  ((SECONDS >= last_change + 3))
}
until_true 60 settled_owners 3 || { cat "$tmp/status"; fail "3 matchers do not share the 8 partitions"; }
mapfile -t mids < <(dc ps -q matcher)
((${#mids[@]} == 3)) || fail "${#mids[@]} matcher containers"
# A node id is the container's hostname (its id's first 12 digits) and the pid.
owners_of() { grep -c " ${1:0:12}-" "$tmp/owners" || true; }
spread=""; holders=0
for c in "${mids[@]}"; do
  n=$(owners_of "$c"); spread+=" ${c:0:12}:$n"
  if ((n > 0)); then holders=$((holders + 1)); fi
done
step "3 matcher containers, partitions owned:$spread"
# Rendezvous hashing over 3 nodes leaves one without partitions in ~1 of 9 draws of node ids.
((holders >= 2)) || fail "the partitions did not move: $spread"
targets_up() {
  curl -sf "$PROM/api/v1/targets?state=active" >"$tmp/targets.json" || return 1
  python3 - "$tmp/targets.json" <<'P'
import json, sys
t = json.load(open(sys.argv[1]))["data"]["activeTargets"]
up = [x for x in t if x["health"] == "up"]
svc = sorted(x["labels"].get("service", "?") for x in up)
print(len(up), "of", len(t), "up:", " ".join(svc))
sys.exit(0 if len(t) == 7 and len(up) == 7 and svc.count("matcher") == 3 else 1)
P
}
until_true 90 targets_up >"$tmp/targets.out" || { cat "$tmp/targets.out" "$tmp/targets.json"; fail "Prometheus targets"; }
step "Prometheus: $(tail -n 1 "$tmp/targets.out")"

# --- 3. docker kill of a matcher while events stream --------------------------------------------
lines=2400
python3 tests/mesh/gen_brute_force.py "$tmp/bf.ndjson" 300 7
[[ $(wc -l <"$tmp/bf.ndjson") -eq $lines ]] || fail "generator changed: fix lines"
"$CHAINWATCH" hunt --rules config/rules "$tmp/bf.ndjson" >"$tmp/hunt_bf.ndjson" 2>/dev/null
python3 tests/mesh/alertset.py hunt "$tmp/hunt_bf.ndjson" >"$tmp/want_bf"
want=$(wc -l <"$tmp/want_bf")
((want >= 300)) || fail "hunt found only $want alerts"
# metric CONTAINER NAME: sum of a metric's samples at the container's /metrics (bash's /dev/tcp
# inside it: the port is not published, the image has no HTTP client; works while the container
# is cut off from the network too).
metric() {
  docker exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9464 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null \
    | awk -v n="$2" '($1 == n || index($1, n "{") == 1) { s += $2 } END { printf "%d\n", s }'
}
metric_is() { [[ $(metric "$1" "$2") == "$3" ]]; }
sum_metric() { # NAME CONTAINER...
  local name=$1 c n=0; shift
  for c in "$@"; do n=$((n + $(metric "$c" "$name"))); done
  echo $n
}
wm=$(dc ps -q watermark)
consumed() { (($(metric "$wm" chainwatch_watermark_events_in_total) >= $1)); }
stream_msgs() {
  curl -sf "$MON/jsz?streams=1" | python3 -c '
import json, sys
print(sum(s["state"]["messages"] for a in json.load(sys.stdin).get("account_details", [])
          for s in a.get("stream_detail", []) if s["name"] == sys.argv[1]))' "$1"
}
# Every consumer of CW_MATCH (the alerter) has taken and acked everything stored there.
settled() {
  curl -sf "$MON/jsz?consumers=1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
cs = [c for a in d.get("account_details", []) for s in a.get("stream_detail", [])
      if s["name"] == "CW_MATCH" for c in s.get("consumer_detail", [])]
sys.exit(0 if cs and all(c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in cs) else 1)'
}
# stream CUSTOMER: replays bf.ndjson as CUSTOMER at 150 lines/s in the background (pid: $replay)
# and waits until the watermark service has consumed 45% of it.
stream() {
  local base; base=$(metric "$wm" chainwatch_watermark_events_in_total)
  dc run --rm -T cli chainwatch replay --nats nats://nats:4222 --customer "$1" --source ecs --rate 150 \
    --no-progress - <"$tmp/bf.ndjson" >"$tmp/replay_$1.out" 2>&1 &
  replay=$!; pids+=("$replay")
  until_true 60 consumed $((base + lines * 45 / 100)) || fail "stream stalled (watermark consumed $(metric "$wm" chainwatch_watermark_events_in_total))"
}
# biggest CONTAINER...: the one owning most partitions now (owners: $tmp/owners) in $victim, $best.
biggest() {
  local c n; victim=; best=-1
  for c in "$@"; do
    n=$(owners_of "$c")
    if ((n > best)); then best=$n; victim=$c; fi
  done
}
# exactly_hunt CUSTOMER TOTAL: once the replay ended, CW_ALERTS holds TOTAL alerts, and those of
# CUSTOMER (read with natscli) are hunt's, each once.
exactly_hunt() {
  wait "$replay" || { cat "$tmp/replay_$1.out"; fail "replay of $1"; }
  stored() { (($(stream_msgs CW_ALERTS) >= $1)); }
  until_true 90 stored "$2" || echo "only $(stream_msgs CW_ALERTS) of $2 alerts stored (CW_LATE $(stream_msgs CW_LATE), CW_DLQ $(stream_msgs CW_DLQ))"
  until_true 30 settled || fail "the alerter did not catch up"
  local n; n=$(stream_msgs CW_ALERTS)
  timeout 60 nats -s "$NATS_URL" sub 'cw.alerts.>' --stream CW_ALERTS --all --count "$n" --raw \
    >"$tmp/stored.ndjson" 2>"$tmp/stored.err" || { cat "$tmp/stored.err"; fail "natscli read $(grep -c . "$tmp/stored.ndjson") of $n stored alerts"; }
  python3 tests/mesh/alertset.py mesh "$1" "$tmp/stored.ndjson" >"$tmp/got_$1"
  diff "$tmp/want_bf" "$tmp/got_$1" >"$tmp/diff_$1" || { head -20 "$tmp/diff_$1"; fail "alerts of $1 != hunt (< hunt, > containers)"; }
  ((n == $2)) || fail "CW_ALERTS holds $n alerts, expected $2 (duplicates?)"
}

stream bf
matchers 3 || true
biggest "${mids[@]}"
survivors=()
for c in "${mids[@]}"; do [[ $c == "$victim" ]] || survivors+=("$c"); done
restores_before=$(sum_metric chainwatch_matcher_restores_total "${survivors[@]}")
docker kill "$victim" >/dev/null
step "docker kill ${victim:0:12} (owned $best partitions) at $(metric "$wm" chainwatch_watermark_events_in_total) of $lines events"
until_true 60 settled_owners 2 || { cat "$tmp/status"; fail "the 2 survivors did not take the 8 partitions over"; }
step "2 matchers own the 8 partitions"
exactly_hunt bf $((want + demo)) # and the demo's
restored=$(($(sum_metric chainwatch_matcher_restores_total "${survivors[@]}") - restores_before))
((restored >= best)) || fail "the survivors restored $restored partitions from checkpoints, the killed matcher owned $best"
step "after the kill: $want brute-force alerts, equal to hunt, none twice; the survivors restored $restored partitions from checkpoints"

# --- 4. docker network disconnect of a matcher while events stream ------------------------------
# Cut off, the matcher's leases are not renewed: its workers must fence themselves (stop fetching,
# publishing, acking) before the leases expire and the other takes the partitions over; once
# reconnected it rejoins and takes its partitions back from the other's checkpoints.
stream bf2
matchers 2 || true
biggest "${survivors[@]}"
other=${survivors[0]}; [[ $other == "$victim" ]] && other=${survivors[1]}
net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$victim" | awk '{print $1}')
since=$(date -u +%FT%T.%NZ)
docker network disconnect "$net" "$victim"
step "docker network disconnect ${victim:0:12} (owned $best partitions) at $(metric "$wm" chainwatch_watermark_events_in_total) events in all"
until_true 60 settled_owners 1 || { cat "$tmp/status"; fail "${other:0:12} did not take the 8 partitions over"; }
# Fenced before taken over: the victim's first fence (its log) precedes the other's first take.
first_log() { docker logs --since "$since" "$1" 2>&1 | awk -v w="$2" 'index($0, w) && !f { print $1; f = 1 }'; }
fenced_at=$(first_log "$victim" fenced)
taken_at=$(first_log "$other" 'took partition')
[[ -n $fenced_at && -n $taken_at && $fenced_at < $taken_at ]] \
  || fail "fenced at '${fenced_at}', partitions taken over at '${taken_at}'"
step "${victim:0:12} fenced its workers from ${fenced_at#*T}; ${other:0:12} took its partitions over from ${taken_at#*T}"
docker network connect --alias matcher "$net" "$victim"
# Rejoined: a member again, and its partitions back (the same node id, so the same share); about
# 4 s once its client has found its connection dead (PINGs every 5 s) and reconnected.
rejoined() { settled_owners 2 && (($(owners_of "$victim") > 0)); }
until_true 120 rejoined || { cat "$tmp/status"; fail "${victim:0:12} did not rejoin with partitions"; }
back=$(owners_of "$victim")
step "reconnected: ${victim:0:12} owns $back partitions again"
exactly_hunt bf2 $((2 * want + demo))
step "after the partition: $want brute-force alerts of bf2, equal to hunt, none twice"
echo "compose: ok ($((SECONDS - t0)) s)"
