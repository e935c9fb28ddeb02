#!/usr/bin/env python3
"""Prints the alert set of hunt output or mesh alerts, one sorted line per alert:
rule_id <TAB> key JSON <TAB> first event time ns <TAB> last event time ns.
  alertset.py hunt FILE           # chainwatch hunt NDJSON
  alertset.py mesh CUSTOMER FILE  # chainwatch alerts tail --json NDJSON, alerts of CUSTOMER
  alertset.py stages FILE         # chainwatch-bench-pipeline stages --matches NDJSON
hunt prints event times to the millisecond, so the stages' are cut to the millisecond too."""
import json, sys
from datetime import datetime, timezone

def iso_ns(s):
    # 2020-10-22T08:29:55.210Z (any number of fraction digits) -> ns since the epoch
    s = s.rstrip("Z")
    base, _, frac = s.partition(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 10**9 + int((frac + "000000000")[:9])

out = []
if sys.argv[1] == "hunt":
    for line in open(sys.argv[2]):
        m = json.loads(line)
        out.append((m["rule"], json.dumps(m["key"]), iso_ns(m["first"]), iso_ns(m["last"])))
elif sys.argv[1] == "stages":
    for line in open(sys.argv[2]):
        m = json.loads(line)
        ms = lambda ns: ns // 10**6 * 10**6
        out.append((m["rule"], json.dumps(m["key"]), ms(m["first_ns"]), ms(m["last_ns"])))
else:
    for line in open(sys.argv[3]):
        a = json.loads(line)
        if a["customer"] != sys.argv[2]:
            continue
        out.append((a["rule"]["id"], json.dumps(a["key"]), a["first_ns"], a["last_ns"]))
for r in sorted(out):
    print("\t".join(map(str, r)))
