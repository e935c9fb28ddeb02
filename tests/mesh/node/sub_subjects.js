// node sub_subjects.js URL COUNT TIMEOUT_MS SUBJECT...: subscribes to every SUBJECT (wildcards
// allowed), prints "subscribed" on stderr once the subscriptions are registered at the server, then
// one JSON line per message: {subject, msg_id, kind, ...fields} with the chainwatch wire envelope
// ([kind, version, fields...], libs/wire/src/messages.cpp) decoded for dead_letter (cw.dlq.*) and
// late_event (cw.late.*). 64-bit integers are printed as decimal strings, bytes as base64 (and the
// late event's ECS event decoded). Exits 0 after COUNT messages in all, 1 on timeout.
const { connect } = require("nats");

// Minimal msgpack decoder (the subset libs/wire and libs/event write). Integers beyond 2^53 stay
// exact as BigInt; bin stays a Buffer.
function decode(buf) {
  let i = 0;
  const need = (n) => { if (i + n > buf.length) throw new Error("truncated msgpack at " + i); };
  const u8 = () => { need(1); return buf[i++]; };
  const big = (v) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const rd = (n, f) => { need(n); const v = f(i); i += n; return v; };
  const bytes = (n) => { need(n); const b = buf.subarray(i, i + n); i += n; return b; };
  const arr = (n) => { const a = []; for (let k = 0; k < n; k++) a.push(val()); return a; };
  const map = (n) => { const m = {}; for (let k = 0; k < n; k++) { const key = val(); m[String(key)] = val(); } return m; };
  function val() {
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return bytes(b & 0x1f).toString("utf8");
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return Buffer.from(bytes(u8()));
      case 0xc5: return Buffer.from(bytes(rd(2, (o) => buf.readUInt16BE(o))));
      case 0xc6: return Buffer.from(bytes(rd(4, (o) => buf.readUInt32BE(o))));
      case 0xca: return rd(4, (o) => buf.readFloatBE(o));
      case 0xcb: return rd(8, (o) => buf.readDoubleBE(o));
      case 0xcc: return u8();
      case 0xcd: return rd(2, (o) => buf.readUInt16BE(o));
      case 0xce: return rd(4, (o) => buf.readUInt32BE(o));
      case 0xcf: return big(rd(8, (o) => buf.readBigUInt64BE(o)));
      case 0xd0: return rd(1, (o) => buf.readInt8(o));
      case 0xd1: return rd(2, (o) => buf.readInt16BE(o));
      case 0xd2: return rd(4, (o) => buf.readInt32BE(o));
      case 0xd3: return big(rd(8, (o) => buf.readBigInt64BE(o)));
      case 0xd9: return bytes(u8()).toString("utf8");
      case 0xda: return bytes(rd(2, (o) => buf.readUInt16BE(o))).toString("utf8");
      case 0xdb: return bytes(rd(4, (o) => buf.readUInt32BE(o))).toString("utf8");
      case 0xdc: return arr(rd(2, (o) => buf.readUInt16BE(o)));
      case 0xdd: return arr(rd(4, (o) => buf.readUInt32BE(o)));
      case 0xde: return map(rd(2, (o) => buf.readUInt16BE(o)));
      case 0xdf: return map(rd(4, (o) => buf.readUInt32BE(o)));
      default: throw new Error("unsupported msgpack byte 0x" + b.toString(16) + " at " + (i - 1));
    }
  }
  const v = val();
  if (i !== buf.length) throw new Error("trailing bytes after msgpack at " + i);
  return v;
}

// JSON-safe copy: BigInt and integers as decimal strings where the schema says int64, Buffers as base64.
function plain(v) {
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v)) return v.toString("base64");
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// Field names of the envelopes, in wire order (libs/wire/include/chainwatch/wire/messages.hpp).
const kinds = {
  5: ["dead_letter", ["customer", "source", "stage", "reason", "detail", "offset", "raw", "time_ns"]],
  6: ["late_event", ["customer", "key", "event_ns", "watermark_ns", "ingest_ns", "event"]],
};
const int64 = new Set(["offset", "time_ns", "event_ns", "watermark_ns", "ingest_ns"]);

function summary(m) {
  const out = { subject: m.subject, msg_id: m.headers ? m.headers.get("Nats-Msg-Id") : "" };
  let env;
  try {
    env = decode(Buffer.from(m.data));
  } catch (e) {
    return { ...out, kind: "undecodable", error: String(e.message), size: m.data.length };
  }
  if (!Array.isArray(env) || env.length < 2) return { ...out, kind: "not_an_envelope" };
  const [k, version, ...fields] = env;
  const spec = kinds[k];
  if (!spec) return { ...out, kind: "kind_" + k, version };
  out.kind = spec[0];
  out.version = version;
  spec[1].forEach((name, j) => {
    const f = fields[j];
    if (int64.has(name)) out[name] = f === undefined ? undefined : String(f);
    else if (Buffer.isBuffer(f) && name !== "raw" && name !== "event") out[name] = f.toString("utf8");
    else out[name] = plain(f);
  });
  if (out.kind === "late_event" && Buffer.isBuffer(fields[5])) {
    try { out.event = plain(decode(fields[5])); } catch (e) { out.event_error = String(e.message); }
  }
  return out;
}

(async () => {
  const [url, count, timeoutMs, ...subjects] = process.argv.slice(2);
  if (!subjects.length) throw new Error("usage: sub_subjects.js URL COUNT TIMEOUT_MS SUBJECT...");
  let left = Number(count);
  const nc = await connect({ servers: url, name: "node-itest-subjects" });
  const timer = setTimeout(() => {
    console.error(`timeout: ${Number(count) - left} of ${count} messages`);
    process.exit(1);
  }, Number(timeoutMs));
  const done = [];
  for (const s of subjects) {
    const sub = nc.subscribe(s);
    done.push((async () => {
      for await (const m of sub) {
        if (left <= 0) break;
        console.log(JSON.stringify(summary(m)));
        if (--left === 0) {
          clearTimeout(timer);
          await nc.drain();
        }
      }
    })());
  }
  await nc.flush(); // the subscriptions are registered at the server
  console.error("subscribed");
  await Promise.all(done);
  await nc.closed();
})().catch((e) => { console.error(e); process.exit(1); });
