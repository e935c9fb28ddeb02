"""Runs SigmaHQ's regression events through `chainwatch hunt` (see sigma_regression_test.sh)."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

chainwatch, data, floor = sys.argv[1], sys.argv[2], float(sys.argv[3])

# Rule files by id (the `id:` line of each Sigma rule).
by_id = {}
for path in glob.glob(os.path.join(data, "rules", "**", "*.yml"), recursive=True):
    with open(path, encoding="utf-8") as f:
        m = re.search(r"^id:\s*['\"]?([0-9a-fA-F-]{36})", f.read(), re.M)
    if m:
        by_id[m.group(1).lower()] = path


def documents(text):
    """The JSON documents of an evtx_dump file (pretty-printed, one after another)."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        doc, i = dec.raw_decode(text, i)
        out.append(doc)


fired, misses, cases = 0, [], 0
root = os.path.join(data, "regression_data", "rules", "windows", "process_creation")
with tempfile.TemporaryDirectory() as tmp:
    for case in sorted(os.listdir(root)):
        jsons = sorted(glob.glob(os.path.join(root, case, "*.json")))
        if not jsons:
            continue
        rule_id = os.path.splitext(os.path.basename(jsons[0]))[0].lower()
        rule = by_id.get(rule_id)
        cases += 1
        if rule is None:
            misses.append((case, "no rule with id " + rule_id + " in rules/"))
            continue
        events = os.path.join(tmp, case + ".ndjson")
        with open(events, "w", encoding="utf-8") as out:
            for j in jsons:
                with open(j, encoding="utf-8") as f:
                    for doc in documents(f.read()):
                        out.write(json.dumps(doc, separators=(",", ":")) + "\n")
        run = subprocess.run([chainwatch, "hunt", "--no-progress", "--source", "windows",
                              "--rules", rule, events], capture_output=True, text=True)
        alerts = [l for l in run.stdout.splitlines() if l.strip()]
        ids = set()
        for l in alerts:
            try:
                ids.add(json.loads(l).get("rule", ""))
            except json.JSONDecodeError:
                pass
        if run.returncode == 0 and rule_id in {i.lower() for i in ids}:
            fired += 1
            continue
        reason = [l for l in run.stderr.splitlines() if "skipped" in l or "error" in l]
        misses.append((case, reason[0] if reason else
                       "no alert (exit %d)" % run.returncode))

rate = 100.0 * fired / cases if cases else 0.0
for case, why in misses:
    print("MISS %s: %s" % (case, why))
print("sigma_regression: %d of %d rules fired on their regression event (%.1f%%)"
      % (fired, cases, rate))
if rate < floor:
    print("sigma_regression: below the floor of %.0f%%" % floor)
    sys.exit(1)
