#!/usr/bin/env python3
"""Regenerates tests/data/demo.ndjson: ECS events with background noise and two
attack chains (a brute force that succeeds, and an executable download followed by
a POST to a threat-intel domain). With the starter rule pack they give four alerts: the two
chains, the C2 address on the indicator list, and the background's failed logons from
10.20.0.5 against many accounts (a password spray). Deterministic (fixed seed); events are
written in time order except for a few swapped within 30 s, as real shippers deliver them."""
import json, random
from datetime import datetime, timedelta, timezone

rng = random.Random(7)
base = datetime(2026, 11, 2, 9, 0, 0, tzinfo=timezone.utc)
users = ["alice", "bob", "carol", "dave", "erin", "frank"]
hosts = [f"ws-{i:02d}" for i in range(1, 9)]
ips = {h: f"10.20.0.{10 + i}" for i, h in enumerate(hosts)}
benign = ["www.example.com", "cdn.example.net", "updates.example.org", "mail.example.com"]
events = []

def ts(sec):
    return (base + timedelta(seconds=sec)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

def logon(sec, user, outcome, host, src):
    code = "4624" if outcome == "success" else "4625"
    events.append({"@timestamp": ts(sec), "event": {"category": ["authentication"],
        "type": ["start"], "action": "logged-in" if outcome == "success" else "logon-failed",
        "outcome": outcome, "code": code}, "user": {"name": user, "domain": "CORP"},
        "source": {"ip": src}, "host": {"name": host}, "winlog": {"event_id": int(code)}})

def http(sec, host, method, domain, path, ext=None):
    e = {"@timestamp": ts(sec), "event": {"category": ["network"], "type": ["connection", "protocol"],
         "dataset": "zeek.http"}, "source": {"ip": ips[host]}, "host": {"name": host},
         "destination": {"ip": f"203.0.113.{rng.randint(1, 250)}", "port": 80},
         "http": {"request": {"method": method}, "response": {"status_code": 200}},
         "url": {"domain": domain, "path": path, "original": path}}
    if ext:
        e["file"] = {"extension": ext}
    events.append(e)

# Noise: ordinary logons (with the odd typo) and web traffic over 30 minutes.
for i in range(400):
    sec = rng.uniform(0, 1800)
    if rng.random() < 0.4:
        u = rng.choice(users)
        logon(sec, u, "failure" if rng.random() < 0.08 else "success", rng.choice(hosts), "10.20.0.5")
    else:
        h = rng.choice(hosts)
        m = "POST" if rng.random() < 0.2 else "GET"
        ext = rng.choice([None, None, "js", "png", "exe"]) if m == "GET" else None
        http(sec, h, m, rng.choice(benign), f"/assets/{i}" + (f".{ext}" if ext else ""), ext)

# Chain 1: password guessing against svc-backup from one source, then a success.
for k in range(7):
    logon(600 + k * 9, "svc-backup", "failure", "dc-01", "198.51.100.23")
logon(600 + 7 * 9 + 20, "svc-backup", "success", "dc-01", "198.51.100.23")

# Chain 2: ws-07 downloads an executable, then POSTs to a listed C2 domain.
http(1200, "ws-07", "GET", "files.payload-drop.example", "/dl/invoice.exe", "exe")
http(1320, "ws-07", "POST", "c2.badcdn.example", "/gate.php")

events.sort(key=lambda e: e["@timestamp"])
# A few neighbours swapped: arrival order differs from event time within the lateness bound.
for i in range(5, len(events) - 1, 37):
    events[i], events[i + 1] = events[i + 1], events[i]
with open("tests/data/demo.ndjson", "w") as f:
    for e in events:
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
print(len(events), "events")
