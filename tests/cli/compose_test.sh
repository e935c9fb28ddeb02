#!/usr/bin/env bash
# compose.yaml is valid (Debian's docker-compose, offline), scales the matcher, and every
# chainwatch service it starts exists as a binary next to the CLI with a config file in config/.
set -euo pipefail
cd "$SOURCE_DIR"
if ! command -v docker-compose >/dev/null; then
  echo "docker-compose not installed (scripts/bootstrap installs it); skipping"; exit 77
fi
docker-compose -f compose.yaml config -q
services=$(docker-compose -f compose.yaml config --services)
for s in nats ingestor normalizer watermark matcher alerter prometheus; do
  grep -qx "$s" <<<"$services" || { echo "compose.yaml lacks service $s"; exit 1; }
done
# --scale needs the matcher to publish no fixed host port.
if docker-compose -f compose.yaml config | awk '/^  matcher:/{m=1;next} /^  [a-z]/{m=0} m && /ports:/{found=1} END{exit !found}'; then
  echo "matcher publishes host ports; --scale matcher=3 would clash"; exit 1
fi
bindir=$(dirname "$CHAINWATCH")
for s in ingestor normalizer watermark matcher alerter; do
  grep -q "chainwatch-$s\", \"--config\", \"config/$s.toml\"" compose.yaml \
    || { echo "compose.yaml does not run chainwatch-$s with its config"; exit 1; }
  if [[ -x "$bindir/chainwatch-$s" ]]; then
    [[ -f "config/$s.toml" ]] || { echo "config/$s.toml missing"; exit 1; }
  else
    echo "note: $bindir/chainwatch-$s not built yet"
  fi
done
for stage in build chainwatch nats prometheus; do
  grep -qE "^FROM .* AS $stage\$" docker/Dockerfile || { echo "docker/Dockerfile lacks stage $stage"; exit 1; }
done
if command -v promtool >/dev/null; then promtool check config config/prometheus.yml; fi
echo "compose: ok"
