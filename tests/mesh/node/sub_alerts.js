// node sub_alerts.js URL SUBJECT COUNT TIMEOUT_MS: prints COUNT messages of SUBJECT as JSON lines.
const { connect } = require("nats");
(async () => {
  const [url, subject, count, timeoutMs] = process.argv.slice(2);
  const nc = await connect({ servers: url, name: "node-itest" });
  const sub = nc.subscribe(subject, { max: Number(count) });
  await nc.flush(); // the subscription is registered at the server
  console.error("subscribed");
  const timer = setTimeout(() => { console.error("timeout"); process.exit(1); }, Number(timeoutMs));
  for await (const m of sub) {
    const a = JSON.parse(new TextDecoder().decode(m.data));
    console.log(JSON.stringify({ subject: m.subject, rule_id: a.rule.id, key: a.key, customer: a.customer }));
  }
  clearTimeout(timer);
  await nc.close();
})().catch((e) => { console.error(e); process.exit(1); });
