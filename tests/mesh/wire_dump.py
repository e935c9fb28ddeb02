#!/usr/bin/env python3
"""Prints the messages natscli dumped (`nats sub --dump DIR`: N.json files, base64 data) as one
JSON line each, in order: {subject, msg_id, kind, ...fields}, with the chainwatch wire envelope
([kind, version, fields...], libs/wire) decoded for dead_letter (cw.dlq.*) and late_event
(cw.late.*), as tests/mesh/node/sub_subjects.js prints what the Node.js client receives. Bytes
are printed as base64, except the late event's ECS event, decoded.
  wire_dump.py DIR"""
import base64, json, os, struct, sys


def decode(buf):
    """Minimal msgpack decoder: the subset libs/wire and libs/event write (no ext types)."""
    i = 0

    def take(n):
        nonlocal i
        if i + n > len(buf):
            raise ValueError(f"truncated msgpack at {i}")
        b = buf[i:i + n]
        i += n
        return b

    def num(fmt):
        return struct.unpack(">" + fmt, take(struct.calcsize(fmt)))[0]

    def val():
        b = take(1)[0]
        if b <= 0x7F: return b
        if b >= 0xE0: return b - 0x100
        if b & 0xF0 == 0x80: return {str(val()): val() for _ in range(b & 0x0F)}
        if b & 0xF0 == 0x90: return [val() for _ in range(b & 0x0F)]
        if b & 0xE0 == 0xA0: return take(b & 0x1F).decode()
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple: return simple[b]
        sized = {0xC4: "B", 0xC5: "H", 0xC6: "I"}  # bin 8/16/32
        if b in sized: return bytes(take(num(sized[b])))
        strs = {0xD9: "B", 0xDA: "H", 0xDB: "I"}
        if b in strs: return take(num(strs[b])).decode()
        nums = {0xCA: "f", 0xCB: "d", 0xCC: "B", 0xCD: "H", 0xCE: "I", 0xCF: "Q",
                0xD0: "b", 0xD1: "h", 0xD2: "i", 0xD3: "q"}
        if b in nums: return num(nums[b])
        if b in (0xDC, 0xDD): return [val() for _ in range(num("H" if b == 0xDC else "I"))]
        if b in (0xDE, 0xDF): return {str(val()): val() for _ in range(num("H" if b == 0xDE else "I"))}
        raise ValueError(f"unsupported msgpack byte 0x{b:02x} at {i - 1}")

    v = val()
    if i != len(buf):
        raise ValueError(f"trailing bytes after msgpack at {i}")
    return v


def plain(v):
    if isinstance(v, bytes): return base64.b64encode(v).decode()
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, dict): return {k: plain(x) for k, x in v.items()}
    return v


# Field names of the envelopes, in wire order (libs/wire/include/chainwatch/wire/messages.hpp).
KINDS = {
    5: ("dead_letter", ["customer", "source", "stage", "reason", "detail", "offset", "raw", "time_ns"]),
    6: ("late_event", ["customer", "key", "event_ns", "watermark_ns", "ingest_ns", "event"]),
}


def summary(m):
    out = {"subject": m["Subject"], "msg_id": ((m.get("Header") or {}).get("Nats-Msg-Id") or [""])[0]}
    data = base64.b64decode(m.get("Data") or "")
    try:
        env = decode(data)
    except ValueError as e:
        return {**out, "kind": "undecodable", "error": str(e), "size": len(data)}
    if not isinstance(env, list) or len(env) < 2:
        return {**out, "kind": "not_an_envelope"}
    kind, version, fields = env[0], env[1], env[2:]
    if kind not in KINDS:
        return {**out, "kind": f"kind_{kind}", "version": version}
    name, names = KINDS[kind]
    out.update(kind=name, version=version)
    for n, f in zip(names, fields):
        out[n] = f.decode(errors="replace") if isinstance(f, bytes) and n not in ("raw", "event") else plain(f)
    if name == "late_event" and len(fields) > 5 and isinstance(fields[5], bytes):
        try:
            out["event"] = plain(decode(fields[5]))
        except ValueError as e:
            out["event_error"] = str(e)
    return out


d = sys.argv[1]
for f in sorted((f for f in os.listdir(d) if f.endswith(".json")), key=lambda f: int(f.split(".")[0])):
    print(json.dumps(summary(json.load(open(os.path.join(d, f))))))
