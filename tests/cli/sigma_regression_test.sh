#!/usr/bin/env bash
# SigmaHQ's process_creation regression tests: for each rule with a positive event (evtx_dump
# JSON), the event goes through the normalizer (`--source windows`, variant evtx_dump) and the
# rule (config/sigma mapping) must fire on it. Prints the rate and each miss with its reason;
# fails below the floor. Skipped (77) when ../shared/data/sigma is absent.
set -euo pipefail
cd "$SOURCE_DIR"
data="${SHARED_DATA:-$SOURCE_DIR/../shared/data}/sigma"
if [[ ! -d $data/regression_data/rules/windows/process_creation || ! -d $data/rules ]]; then
  echo "sigma_regression: $data/regression_data or rules absent; skipped"
  exit 77
fi
# The floor: fired / rules with regression data, in percent (the measured rate, rounded down).
floor=${SIGMA_REGRESSION_FLOOR:-100}
python3 tests/cli/sigma_regression.py "$CHAINWATCH" "$data" "$floor"
