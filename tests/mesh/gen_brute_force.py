#!/usr/bin/env python3
"""Writes a time-ordered ECS NDJSON stream of brute-force chains for the recovery tests:
USERS users, each with 5 failed logins 36 s apart and then a success (3 min, inside the rule's
5 m maxspan), their windows spread over 10 minutes of event time so that, replayed at a steady
rate, most chains are half built at any moment; plus noise (lone failures and successes).
  gen_brute_force.py OUT [USERS] [SEED]"""
import json, random, sys
from datetime import datetime, timedelta, timezone

out, users, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300, int(sys.argv[3]) if len(sys.argv) > 3 else 1
rng = random.Random(seed)
base = datetime(2026, 11, 1, 8, 0, 0, tzinfo=timezone.utc)
events = []
for u in range(users):
    start = rng.uniform(0, 420)
    for k in range(5):
        events.append((start + 36 * k, f"user{u}", "failure"))
    events.append((start + 180 + rng.uniform(0, 5), f"user{u}", "success"))
for _ in range(users * 2):
    events.append((rng.uniform(0, 600), f"noise{rng.randrange(users)}", rng.choice(["failure", "success"])))
events.sort()
with open(out, "w") as f:
    for i, (t, user, outcome) in enumerate(events):
        ts = (base + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        code = "4625" if outcome == "failure" else "4624"  # Windows logons, as the bundled rule reads
        n = int(user.lstrip("usernoise"))  # each account logs on from its own address
        ip = "10.%d.%d.%d" % (1 if user.startswith("user") else 2, n // 256, n % 256)
        f.write(json.dumps({"@timestamp": ts, "id": i, "event": {"category": ["authentication"],
                 "outcome": outcome, "code": code}, "user": {"name": user}, "host": {"name": "dc1"},
                 "source": {"ip": ip}}) + "\n")
