#include "alerter_service.hpp"

#include <chainwatch/engine/engine.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

namespace chainwatch::alerter {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

void bind(service::config_binder& b, alerter_config& c) {
  b.bind("alerter.rules", c.rules, "Rule TOML files or directories, comma-separated");
  b.bind_duration("alerter.suppress_window", c.suppress_window_ns,
                  "One alert per (rule, key) within this much event time (0 disables)");
  b.bind("alerter.fetch_batch", c.fetch_batch, "Match batches fetched at once");
  b.bind_duration("alerter.fetch_timeout", c.fetch_timeout_ns, "How long a fetch waits");
  b.bind_duration("alerter.ack_wait", c.ack_wait_ns,
                  "Redeliver a match batch not acked within this (a crashed instance's)");
  b.bind_duration("alerter.publish_timeout", c.publish_timeout_ns,
                  "How long to wait for alert acks before republishing");
  b.bind_duration("alerter.checkpoint_interval", c.checkpoint_interval_ns,
                  "Suppression state checkpointed at most this often (inputs acked after it)");
  b.bind("alerter.durable", c.durable, "Durable consumer name on CW_MATCH");
}

alerter_probe::alerter_probe(service::metrics& m)
    : metrics(m), messages_in(m.counter("messages_in", "match_batch messages processed")),
      matches_in(m.counter("matches_in", "matches received")),
      alerts_out(m.counter("alerts_out", "alerts published")),
      suppressed(m.counter("suppressed", "matches suppressed as repeats within the window")),
      repeats(m.counter("repeats", "identical matches republished (dropped as duplicates)")),
      publish_retries(m.counter("publish_retries", "output rounds republished after a failure")),
      checkpoints(m.counter("checkpoints", "suppression checkpoints written")),
      processing(m.histogram("processing", "time to process one match_batch message",
                             service::latency_buckets())),
      detection(m.histogram("detection_latency", "wall clock at alert minus last event time",
                            service::latency_buckets())),
      event_time_lag(m.histogram("event_time_lag",
                                 "watermark at detection minus last event time (event time)",
                                 service::latency_buckets())),
      watermark_latency(m.histogram("watermark_latency",
                                    "wall clock at alert minus when the watermark service emitted "
                                    "the marker that released the match (watermark to alert)",
                                    service::latency_buckets())),
      queue_wait(m) {}

prometheus::Counter& alerter_probe::alert(const std::string& rule, const std::string& severity) {
  return metrics.counter("alerts", "alerts by rule and severity",
                         {{"rule", rule}, {"severity", severity}});
}

prometheus::Counter& alerter_probe::error(const std::string& reason) {
  return metrics.counter("errors", "inputs dropped or degraded, by reason", {{"reason", reason}});
}

alerter_service::alerter_service(service::nats_client& nats, service::metrics& m,
                                 alerter_config cfg,
                                 std::shared_ptr<const matcher::rule_catalog> rules)
    : nats_(nats), cfg_(std::move(cfg)), rules_(std::move(rules)), probe_(m),
      dlq_(nats, m, "alerter"), suppressor_(cfg_.suppress_window_ns) {}

alerter_service::~alerter_service() {
  stop();
}

service::nats_status alerter_service::start() {
  if (auto r = service::ensure_mesh_streams(nats_); !r) return r;
  if (cfg_.suppress_window_ns > 0) {
    auto kv = nats_.key_value("cw_checkpoints", 1);
    if (!kv) return unexpected{kv.error()};
    checkpoints_kv_ = std::move(*kv);
    checkpoints_ = std::make_unique<service::blob_store>(*checkpoints_kv_);
    auto blob = checkpoints_->load("alerter." + cfg_.durable);
    if (!blob) return unexpected{blob.error()};
    if (*blob && !suppressor_.restore(**blob)) {
      probe_.error("checkpoint_restore").Increment();
      log_.warn("checkpoint_restore", "suppression checkpoint unreadable; starting empty");
    }
  }
  auto in = nats_.pull({.stream = "CW_MATCH",
                        .durable = cfg_.durable,
                        .filter_subject = "",
                        .ack_wait_ns = cfg_.ack_wait_ns});
  if (!in) return unexpected{in.error()};
  in_ = std::move(*in);
  thread_ = std::thread([this] { loop(); });
  return service::nats_ok();
}

void alerter_service::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  in_.reset();
}

void alerter_service::loop() {
  const auto fetch_ms = std::max<std::int64_t>(1, cfg_.fetch_timeout_ns / 1'000'000);
  while (!stop_) {
    auto batch = in_->fetch(static_cast<int>(cfg_.fetch_batch), fetch_ms);
    if (!batch) {
      probe_.error("fetch").Increment();
      log_.warn("fetch", "fetch on CW_MATCH failed: " + service::to_string(batch.error()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200)); // back off, not a sync
      continue;
    }
    if (batch->empty()) {
      settle(false);
      continue;
    }
    probe_.queue_wait.observe(*batch);
    std::vector<alert> out;
    bool remembered = false; // the suppressor learned a new alert
    for (auto& msg : *batch) {
      auto start = std::chrono::steady_clock::now();
      auto decoded = wire::decode_match_batch(msg.data());
      if (!decoded) {
        auto reason = wire::to_string(decoded.error().code);
        probe_.error(reason).Increment();
        dlq_.send({.customer = std::string(wire::subject_token(msg.subject(), 2)),
                   .source = "",
                   .stage = "alerter",
                   .reason = reason,
                   .detail = wire::to_string(decoded.error()),
                   .raw = std::string(msg.data())},
                  msg.meta() ? "dl.a." + std::to_string(msg.meta()->stream_sequence) : "");
        continue;
      }
      if (!wire::valid_token(decoded->customer)) {
        probe_.error("bad_subject_token").Increment();
        probe_.messages_in.Increment();
        continue;
      }
      for (const auto& m : decoded->matches) {
        probe_.matches_in.Increment();
        auto d = suppressor_.admit(decoded->customer, m);
        if (d == suppressor::decision::suppress) {
          probe_.suppressed.Increment();
          continue;
        }
        const rules::rule* rule = rules_->find(m.rule_id);
        if (!rule) probe_.error("unknown_rule").Increment();
        auto detected = now_ns();
        std::size_t bad = 0;
        out.push_back(build_alert(decoded->customer, m, rule, detected, bad));
        if (bad) probe_.error("bad_event").Increment(static_cast<double>(bad));
        if (d == suppressor::decision::repeat) {
          remembered = true; // a redelivery: maybe its first checkpoint failed
          probe_.repeats.Increment();
          continue;
        }
        probe_.alerts_out.Increment();
        remembered = true;
        probe_.alert(m.rule_id, out.back().severity).Increment();
        probe_.detection.Observe(static_cast<double>(detected - m.last_ns) / 1e9);
        if (m.watermark_ns != engine::no_deadline && m.watermark_ns >= m.last_ns)
          probe_.event_time_lag.Observe(static_cast<double>(m.watermark_ns - m.last_ns) / 1e9);
        if (m.watermark_wall_ns > 0) // clocks of one host or NTP-synced: skew reads as 0
          probe_.watermark_latency.Observe(
              static_cast<double>(std::max<std::int64_t>(0, detected - m.watermark_wall_ns)) / 1e9);
      }
      probe_.processing.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      probe_.messages_in.Increment(); // last: once it counts a message, its counters are final
    }
    bool stored = out.empty();
    for (bool first = true; !stored && (first || !stop_); first = false) {
      auto failures = nats_.js_publish_failures();
      bool ok = true;
      for (const auto& a : out)
        if (!nats_.js_publish_async(a.subject, a.json, a.msg_id, 5000)) ok = false;
      if (!nats_.js_publish_complete(cfg_.publish_timeout_ns / 1'000'000)) ok = false;
      stored = ok && nats_.js_publish_failures() == failures;
      if (!stored) {
        probe_.publish_retries.Increment();
        log_.warn("publish", "publishing alerts failed; retrying");
      }
    }
    if (!stored) continue; // stopping: redelivered later, same msg ids
    dirty_ = dirty_ || (remembered && checkpoints_);
    for (auto& msg : *batch)
      unacked_.push_back(std::move(msg));
    settle(false);
  }
  settle(true);
}

void alerter_service::settle(bool now) {
  if (!dirty_) { // changed nothing a checkpoint must keep
    for (auto& msg : unacked_)
      msg.ack();
    unacked_.clear();
  } else if (!unacked_.empty() && (now || std::chrono::steady_clock::now() >= checkpoint_due_) &&
             collect_checkpoint(now)) { // one at a time: else the next round takes these too
    // Before the ack: a crash after it must not forget what these alerts suppress.
    checkpoint_due_ =
        std::chrono::steady_clock::now() + std::chrono::nanoseconds(cfg_.checkpoint_interval_ns);
    dirty_ = false;
    saving_ = std::async(std::launch::async, [this, state = suppressor_.snapshot(),
                                              inputs = std::move(unacked_)]() mutable {
      std::optional<std::string> failed;
      if (auto r = checkpoints_->save("alerter." + cfg_.durable, state); !r) {
        // Not acked: redelivered after ack_wait (repeats with the same msg ids).
        failed = service::to_string(r.error());
        return failed;
      }
      probe_.checkpoints.Increment();
      for (auto& msg : inputs)
        msg.ack();
      return failed;
    });
    unacked_.clear();
  }
  if (now) collect_checkpoint(true);
}

bool alerter_service::collect_checkpoint(bool wait) {
  if (!saving_.valid()) return true;
  if (!wait && saving_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
  if (auto failed = saving_.get()) {
    probe_.error("checkpoint").Increment();
    log_.warn("checkpoint", "suppression checkpoint failed: " + *failed);
    dirty_ = true; // written again with the next round
  }
  return true;
}

int run(service::runtime& rt, const alerter_config& cfg) {
  matcher::catalog_options co;
  co.rule_paths = matcher::split_list(cfg.rules);
  co.compile = false;
  if (cfg.checkpoint_interval_ns < 0 ||
      cfg.checkpoint_interval_ns + cfg.fetch_timeout_ns >= cfg.ack_wait_ns) {
    // The inputs wait for the checkpoint unacked: longer than ack_wait, they come again.
    spdlog::error("alerter: alerter.checkpoint_interval + alerter.fetch_timeout must be below "
                  "alerter.ack_wait");
    return 2;
  }
  auto catalog = matcher::load_catalog(co);
  if (!catalog) {
    spdlog::error("alerter: cannot load rules:\n{}", catalog.error());
    return 2;
  }
  spdlog::info("alerter: {} rules loaded", catalog->rules.size());
  auto rules = std::make_shared<const matcher::rule_catalog>(std::move(*catalog));
  alerter_service svc(rt.nats(), rt.metrics(), cfg, rules);
  if (auto r = svc.start(); !r) {
    spdlog::error("alerter: start failed: {}", service::to_string(r.error()));
    return 1;
  }
  spdlog::info("alerter: running");
  while (!rt.stop().requested()) {
    rt.stop().wait_for(std::chrono::seconds(1));
    rt.update_probes();
  }
  spdlog::info("alerter: stopping");
  svc.stop();
  rt.update_probes();
  return 0;
}

} // namespace chainwatch::alerter
