#include "matcher_service.hpp"

#include "partition_actor.hpp"

#include <caf/all.hpp>
#include <chainwatch/wire/partition.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <cstdio>
#include <spdlog/spdlog.h>

namespace chainwatch::matcher {

struct matcher_service::partition_slot {
  std::uint32_t partition = 0;
  caf::actor actor;
  std::unique_ptr<service::pull_consumer> consumer;
};

std::string match_batch_id(std::uint32_t partition, const wire::match_batch& batch) {
  std::string text = batch.customer;
  for (const auto& m : batch.matches) {
    text.push_back('\0');
    text += m.rule_id;
    text.push_back('\0');
    text += m.key;
    text += '\0' + std::to_string(m.first_ns) + '\0' + std::to_string(m.last_ns);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(wire::key_hash("m", text)));
  return "m." + std::to_string(partition) + "." + hex;
}

matcher_service::matcher_service(service::nats_client& nats, service::metrics& m,
                                 matcher_config cfg, std::shared_ptr<const rule_catalog> rules)
    : nats_(nats), cfg_(std::move(cfg)), rules_(std::move(rules)), probe_(m),
      dlq_(nats, m, "matcher") {}

matcher_service::~matcher_service() {
  stop();
}

service::nats_status matcher_service::start() {
  auto parts = parse_partitions(cfg_.owned, cfg_.partitions);
  if (!parts) return unexpected(service::nats_error{0, 0, parts.error()});
  partitions_ = std::move(*parts);
  if (auto r = service::ensure_mesh_streams(nats_); !r) return r;

  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  caf_cfg_->set("scheduler.max-threads",
                static_cast<std::size_t>(std::max<std::int64_t>(1, cfg_.threads)));
  caf_cfg_->set("scheduler.max-throughput", static_cast<std::size_t>(100));
  caf_cfg_->set("logger.verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(*caf_cfg_);

  for (auto p : partitions_) {
    auto slot = std::make_unique<partition_slot>();
    slot->partition = p;
    service::consumer_spec spec;
    spec.stream = "CW_PART";
    spec.durable = "matcher-" + std::to_string(p);
    spec.filter_subject = wire::partition_subject(p);
    auto consumer = nats_.pull(spec);
    if (!consumer) return unexpected(consumer.error());
    slot->consumer = std::move(*consumer);
    slot->actor = spawn_partition_actor(*sys_, {p, rules_->compiled, rules_->piped});
    slots_.push_back(std::move(slot));
  }
  for (std::size_t i = 0; i < slots_.size(); ++i)
    threads_.emplace_back([this, i] { run_partition(slots_[i]->partition, i); });
  return service::nats_ok();
}

void matcher_service::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (auto& s : slots_)
    if (s->actor) caf::anon_send_exit(s->actor, caf::exit_reason::user_shutdown);
  slots_.clear(); // consumers (not the durables) and actor handles
  sys_.reset();   // waits until every actor is gone
  caf_cfg_.reset();
}

bool matcher_service::publish_all(const std::vector<output>& outputs) {
  if (outputs.empty()) return true;
  for (bool first = true; first || !stop_; first = false) {
    auto failures = nats_.js_publish_failures();
    bool ok = true;
    for (const auto& o : outputs)
      if (!nats_.js_publish_async(o.subject, o.data, o.msg_id, 5000)) ok = false;
    auto timeout_ms = cfg_.publish_timeout_ns / 1'000'000;
    if (!nats_.js_publish_complete(timeout_ms)) ok = false;
    if (ok && nats_.js_publish_failures() == failures) return true;
    // Same msg ids: whatever was stored already is dropped as a duplicate.
    probe_.publish_retries.Increment();
    log_.warn("publish", "publishing matches failed; retrying");
  }
  return false;
}

void matcher_service::run_partition(std::uint32_t p, std::size_t index) {
  auto& slot = *slots_[index];
  caf::scoped_actor self{*sys_};
  const auto fetch_ms = std::max<std::int64_t>(1, cfg_.fetch_timeout_ns / 1'000'000);
  // The state gauges walk every key state: at most once a second.
  auto gauges_due = std::chrono::steady_clock::now();
  while (!stop_) {
    auto batch = slot.consumer->fetch(static_cast<int>(cfg_.fetch_batch), fetch_ms);
    if (!batch) {
      probe_.error("fetch").Increment();
      log_.warn("fetch", "fetch on cw.part." + std::to_string(p) +
                             " failed: " + service::to_string(batch.error()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200)); // back off, not a sync
      continue;
    }
    if (batch->empty()) continue;
    std::vector<output> outputs;
    for (auto& msg : *batch) {
      auto start = std::chrono::steady_clock::now();
      auto decoded = wire::decode_partition_batch(msg.data());
      if (!decoded) {
        auto reason = wire::to_string(decoded.error().code);
        probe_.error(reason).Increment();
        dlq_.send({.customer = "",
                   .source = "",
                   .stage = "matcher",
                   .reason = reason,
                   .detail = wire::to_string(decoded.error()),
                   .raw = std::string(msg.data())},
                  msg.meta() ? "dl.m." + std::to_string(msg.meta()->stream_sequence) : "");
        continue;
      }
      std::uint64_t seq = 0;
      if (auto meta = msg.meta()) seq = meta->stream_sequence;
      partition_result res;
      bool ok = false;
      partition_work work{std::move(decoded->items), start >= gauges_due};
      if (work.gauges) gauges_due = start + std::chrono::seconds(1);
      self->request(slot.actor, caf::infinite, std::move(work))
          .receive([&](partition_result& r) { res = std::move(r), ok = true; },
                   [&](caf::error& e) {
                     log_.warn("actor", "partition actor failed: " + to_string(e));
                   });
      if (!ok) {
        probe_.error("actor").Increment();
        continue;
      }
      probe_.events_in.Increment(static_cast<double>(res.events));
      probe_.markers_in.Increment(static_cast<double>(res.markers));
      probe_.late_events.Increment(static_cast<double>(res.late.size()));
      probe_.piped_dropped.Increment(static_cast<double>(res.piped_dropped));
      if (res.unrouted) probe_.error("unrouted").Increment(static_cast<double>(res.unrouted));
      if (res.bad_events) probe_.error("bad_event").Increment(static_cast<double>(res.bad_events));
      if (res.gauges) {
        probe_.overflow.Increment(static_cast<double>(res.overflow));
        probe_.set_partition(p, res.live_keys, res.pending, res.state_bytes);
      }
      for (auto& mb : res.matches) {
        if (!wire::valid_token(mb.customer)) {
          probe_.error("bad_subject_token").Increment(static_cast<double>(mb.matches.size()));
          continue;
        }
        probe_.matches_out.Increment(static_cast<double>(mb.matches.size()));
        auto id = match_batch_id(p, mb);
        outputs.push_back({wire::match_subject(mb.customer), wire::encode(mb), std::move(id)});
      }
      for (std::size_t i = 0; i < res.late.size(); ++i) {
        if (!wire::valid_token(res.late[i].customer)) continue;
        outputs.push_back(
            {wire::late_subject(res.late[i].customer), wire::encode(res.late[i]),
             "l." + std::to_string(p) + "." + std::to_string(seq) + "." + std::to_string(i)});
      }
      probe_.processing.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      probe_.messages_in.Increment(); // last: once it counts a message, its counters are final
    }
    if (!publish_all(outputs)) continue; // stopping: not acked, redelivered later
    for (auto& msg : *batch)
      msg.ack();
  }
}

int run(service::runtime& rt, const matcher_config& cfg) {
  if (auto parts = parse_partitions(cfg.owned, cfg.partitions); !parts) {
    spdlog::error("matcher: {}", parts.error());
    return 2;
  }
  catalog_options co;
  co.rule_paths = split_list(cfg.rules);
  co.list_dirs = split_list(cfg.lists);
  co.event_type_field = cfg.event_type_field;
  co.case_sensitive = cfg.case_sensitive;
  co.max_pending = static_cast<std::size_t>(std::max<std::int64_t>(1, cfg.max_pending));
  auto catalog = load_catalog(co);
  if (!catalog) {
    spdlog::error("matcher: cannot load rules:\n{}", catalog.error());
    return 2;
  }
  for (const auto& w : catalog->warnings)
    spdlog::warn("matcher: {}", w);
  spdlog::info("matcher: {} rules loaded", catalog->rules.size());
  auto rules = std::make_shared<const rule_catalog>(std::move(*catalog));
  matcher_service svc(rt.nats(), rt.metrics(), cfg, rules);
  if (auto r = svc.start(); !r) {
    spdlog::error("matcher: start failed: {}", service::to_string(r.error()));
    return 1;
  }
  spdlog::info("matcher: running");
  while (!rt.stop().requested()) {
    rt.stop().wait_for(std::chrono::seconds(1));
    rt.update_probes();
  }
  spdlog::info("matcher: stopping");
  svc.stop();
  rt.nats().js_publish_complete(5000);
  rt.update_probes();
  return 0;
}

} // namespace chainwatch::matcher
