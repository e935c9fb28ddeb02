#include "matcher_service.hpp"

#include "partition_actor.hpp"

#include <caf/all.hpp>
#include <chainwatch/wire/partition.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace chainwatch::matcher {

struct matcher_service::partition_slot {
  std::uint32_t partition = 0;
  caf::actor actor;
  std::unique_ptr<service::pull_consumer> consumer;
  std::atomic<bool> stop{false};   ///< finish the message in hand, then exit
  std::atomic<bool> fenced{false}; ///< lease lost: exit without publishing or acking
  /// Steady-clock ns until which the lease is certainly ours (INT64_MAX: fixed ownership).
  std::atomic<std::int64_t> lease_until{INT64_MAX};
  std::uint64_t last_seq = 0;     ///< last CW_PART sequence processed (and acked)
  std::uint64_t checkpointed = 0; ///< last_seq of the last checkpoint written
  std::thread thread;
};

namespace {
std::int64_t steady_ns(std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now()) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
} // namespace

std::string checkpoint_name(std::uint32_t partition) {
  return "p." + std::to_string(partition);
}

std::string match_batch_id(std::uint32_t partition, const wire::match_batch& batch) {
  std::string text = batch.customer;
  for (const auto& m : batch.matches) {
    text.push_back('\0');
    text += m.rule_id;
    text.push_back('\0');
    text += m.key;
    text += '\0' + std::to_string(m.first_ns) + '\0' + std::to_string(m.last_ns);
    for (const auto& ev : m.events) {
      text.push_back('\0');
      text += ev;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(wire::key_hash("m", text)));
  return "m." + std::to_string(partition) + "." + hex;
}

matcher_service::matcher_service(service::nats_client& nats, service::metrics& m,
                                 matcher_config cfg, std::shared_ptr<const rule_catalog> rules)
    : nats_(nats), cfg_(std::move(cfg)), rules_(std::move(rules)), probe_(m),
      dlq_(nats, m, "matcher") {
  if (!cfg_.node_id.empty()) {
    node_id_ = sanitize_node_id(cfg_.node_id);
  } else {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    node_id_ = sanitize_node_id(std::string(host) + "-" + std::to_string(::getpid()));
  }
}

matcher_service::~matcher_service() {
  stop();
}

service::nats_status matcher_service::start() {
  auto parts = parse_partitions(cfg_.owned, cfg_.partitions);
  if (!parts) return unexpected{service::nats_error{0, 0, parts.error()}};
  partitions_ = std::move(*parts);
  if (auto r = service::ensure_mesh_streams(nats_); !r) return r;

  caf_cfg_ = std::make_unique<caf::actor_system_config>();
  caf_cfg_->set("scheduler.max-threads",
                static_cast<std::size_t>(std::max<std::int64_t>(1, cfg_.threads)));
  caf_cfg_->set("scheduler.max-throughput", static_cast<std::size_t>(100));
  // Workers block on a condition variable instead of polling with sleeps (work stealing): the
  // partition actors are fed by blocking fetch threads, so idle polling was pure context switches.
  caf_cfg_->set("scheduler.policy", caf::atom("sharing"));
  caf_cfg_->set("logger.verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(*caf_cfg_);

  if (cfg_.checkpoint_interval_ns > 0) {
    auto kv = nats_.key_value("cw_checkpoints", 1);
    if (!kv) return unexpected{kv.error()};
    checkpoints_kv_ = std::move(*kv);
    checkpoints_ = std::make_unique<service::blob_store>(*checkpoints_kv_);
    ckpt_thread_ = std::thread([this] { write_checkpoints(); });
  }
  if (cfg_.owned != "auto") {
    for (auto p : partitions_)
      if (auto r = start_worker(p); !r) return r;
    return service::nats_ok();
  }
  // Dynamic ownership: leases in the cw_matchers bucket, a heartbeat thread.
  // Lease operations give up after a sixth of the TTL: a reply lost in a server restart must not
  // stall the heartbeat past the TTL (the workers would stop, see lease_valid()).
  auto kv = nats_.key_value("cw_matchers", 1, cfg_.lease_ns, true,
                            std::max<std::int64_t>(cfg_.lease_ns / 6'000'000, 100));
  if (!kv) return unexpected{kv.error()};
  leases_kv_ = std::move(*kv);
  leases_ = std::make_unique<lease_table>(*leases_kv_, node_id_,
                                          static_cast<std::uint32_t>(cfg_.partitions));
  coordinator_ = std::thread([this] { coordinate(); });
  return service::nats_ok();
}

service::nats_status matcher_service::start_worker(std::uint32_t p, std::int64_t lease_until_ns) {
  auto slot = std::make_shared<partition_slot>();
  slot->partition = p;
  slot->lease_until = lease_until_ns;
  service::consumer_spec spec;
  spec.stream = "CW_PART";
  spec.durable = "matcher-" + std::to_string(p);
  spec.filter_subject = wire::partition_subject(p);
  spec.ack_all = true; // one reader per partition, in order: one ack per fetch
  slot->actor = spawn_partition_actor(*sys_, {p, rules_->compiled, rules_->piped});
  if (checkpoints_) {
    // Restore the last checkpoint and consume from the message after it: the durable's ack
    // floor may be past it (acks are not checkpoints), so the durable is recreated there.
    auto started = std::chrono::steady_clock::now();
    auto bytes = checkpoints_->load(checkpoint_name(p));
    if (!bytes) {
      caf::anon_send_exit(slot->actor, caf::exit_reason::user_shutdown);
      return unexpected{bytes.error()};
    }
    if (*bytes) {
      auto ck = wire::decode_partition_checkpoint(**bytes);
      std::string error;
      if (!ck) {
        error = "undecodable checkpoint: " + wire::to_string(ck.error());
      } else {
        caf::scoped_actor self{*sys_};
        self->request(slot->actor, caf::infinite, restore_atom::value,
                      partition_snapshot{std::move(ck->customers), {}})
            .receive([&](std::string& e) { error = std::move(e); },
                     [&](caf::error& e) { error = to_string(e); });
      }
      if (!error.empty()) {
        // Never silently: counted, logged, and the partition restarts from its stream's start.
        probe_.error("checkpoint_restore").Increment();
        log_.warn("checkpoint_restore", "partition " + std::to_string(p) + ": " + error);
        caf::anon_send_exit(slot->actor, caf::exit_reason::user_shutdown);
        slot->actor = spawn_partition_actor(*sys_, {p, rules_->compiled, rules_->piped});
      } else {
        slot->last_seq = slot->checkpointed = ck->sequence;
        spec.start_sequence = ck->sequence + 1;
        probe_.restores.Increment();
        probe_.restore_seconds.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
    }
    (void)nats_.delete_consumer(spec.stream, spec.durable);
  }
  auto consumer = nats_.pull(spec);
  if (!consumer) {
    caf::anon_send_exit(slot->actor, caf::exit_reason::user_shutdown);
    return unexpected{consumer.error()};
  }
  slot->consumer = std::move(*consumer);
  auto* raw = slot.get();
  slot->thread = std::thread([this, raw] { run_partition(*raw); });
  std::lock_guard lock(slots_mutex_);
  slots_[p] = std::move(slot);
  probe_.partitions_owned.Set(static_cast<double>(slots_.size()));
  return service::nats_ok();
}

void matcher_service::stop_worker(std::uint32_t p, bool fenced) {
  std::shared_ptr<partition_slot> slot;
  {
    std::lock_guard lock(slots_mutex_);
    auto it = slots_.find(p);
    if (it == slots_.end()) return;
    slot = std::move(it->second);
    slots_.erase(it);
    probe_.partitions_owned.Set(static_cast<double>(slots_.size()));
  }
  if (fenced) slot->fenced = true;
  slot->stop = true;
  if (slot->thread.joinable()) slot->thread.join();
  // The final checkpoint (queued by the worker on its way out) is stored before the lease goes.
  if (!fenced) flush_checkpoint(p);
  if (slot->actor) caf::anon_send_exit(slot->actor, caf::exit_reason::user_shutdown);
}

void matcher_service::coordinate() {
  const auto period =
      std::chrono::nanoseconds(std::max<std::int64_t>(cfg_.lease_ns / 3, 1'000'000));
  // A lease written after `started` lives until `started` + TTL at the server; the workers use it
  // only until a third of the TTL before that (fetch waits, clock rates and the last batch fit in
  // that third: matcher_config checks fetch_timeout < lease / 3).
  const auto valid_for = std::chrono::nanoseconds(cfg_.lease_ns - cfg_.lease_ns / 3);
  while (!stop_) {
    // Workers that fenced themselves (their lease was not renewed in time): stopped and forgotten
    // here; if the lease is still ours, this heartbeat takes it back and restarts them from the
    // checkpoint.
    std::vector<std::uint32_t> expired;
    {
      std::lock_guard lock(slots_mutex_);
      for (const auto& [p, slot] : slots_)
        if (slot->fenced && !slot->stop) expired.push_back(p);
    }
    for (auto p : expired) {
      probe_.leases_lost.Increment();
      stop_worker(p, true);
      leases_->forget(p);
    }
    std::string info = "{\"node\":\"" + node_id_ + "\",\"partitions\":[";
    {
      std::lock_guard lock(slots_mutex_);
      bool first = true;
      for (const auto& [p, slot] : slots_) {
        info += (first ? "" : ",") + std::to_string(p);
        first = false;
      }
    }
    info += "]}";
    auto changes = leases_->heartbeat(info);
    const auto until = steady_ns(changes.started + valid_for);
    {
      std::lock_guard lock(slots_mutex_);
      for (auto p : changes.renewed)
        if (auto it = slots_.find(p); it != slots_.end()) it->second->lease_until = until;
    }
    for (auto p : changes.lost) {
      log_.warn("lease_lost", "lease of partition " + std::to_string(p) + " lost: fenced");
      probe_.leases_lost.Increment();
      stop_worker(p, true);
    }
    for (auto p : changes.release) {
      stop_worker(p, false);
      leases_->release(p);
      probe_.rebalances.Increment();
      spdlog::info("matcher {}: released partition {}", node_id_, p);
    }
    for (auto p : changes.acquired) {
      if (auto r = start_worker(p, until); !r) {
        log_.warn("start_worker",
                  "partition " + std::to_string(p) + ": " + service::to_string(r.error()));
        leases_->release(p);
        continue;
      }
      probe_.rebalances.Increment();
      spdlog::info("matcher {}: took partition {}", node_id_, p);
    }
    std::unique_lock lock(coordinator_mutex_);
    coordinator_cv_.wait_for(lock, period, [this] { return stop_.load(); });
  }
}

void matcher_service::stop() {
  {
    std::lock_guard lock(coordinator_mutex_);
    stop_ = true;
  }
  coordinator_cv_.notify_all();
  if (coordinator_.joinable()) coordinator_.join();
  std::vector<std::uint32_t> owned;
  {
    std::lock_guard lock(slots_mutex_);
    for (const auto& [p, slot] : slots_)
      owned.push_back(p);
  }
  for (auto p : owned)
    stop_worker(p, false);
  // Others take the partitions at their next heartbeat (or when the leases expire, if the server
  // is unreachable now).
  if (leases_ && nats_.connected()) leases_->leave();
  {
    std::lock_guard lock(ckpt_mutex_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  if (ckpt_thread_.joinable()) ckpt_thread_.join();
  leases_.reset();
  leases_kv_.reset();
  sys_.reset(); // waits until every actor is gone
  caf_cfg_.reset();
}

void matcher_service::checkpoint(partition_slot& slot, caf::scoped_actor& self) {
  // Disconnected (e.g. the server went away while stopping): the last checkpoint stands; the
  // next owner replays from it.
  if (!checkpoints_ || slot.fenced || slot.last_seq == slot.checkpointed || !nats_.connected())
    return;
  // The snapshot is taken here, between two messages, so it matches last_seq; storing it (KV
  // round trips, many for a big state) is the writer thread's job, off the partition's path.
  checkpoint_job job{slot.partition, {}, slot.last_seq, {}, std::chrono::steady_clock::now()};
  partition_snapshot snap;
  bool ok = false;
  self->request(slot.actor, caf::infinite, checkpoint_atom::value)
      .receive([&](partition_snapshot& s) { snap = std::move(s), ok = true; }, [&](caf::error&) {});
  if (!ok) return;
  wire::partition_checkpoint ck{.partition = slot.partition,
                                .node = node_id_,
                                .sequence = slot.last_seq,
                                .time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count(),
                                .customers = std::move(snap.customers)};
  job.bytes = wire::encode(ck);
  {
    std::lock_guard lock(slots_mutex_);
    if (auto it = slots_.find(slot.partition); it != slots_.end() && it->second.get() == &slot)
      job.slot = it->second;
  }
  if (!job.slot) return;
  slot.checkpointed = slot.last_seq;
  {
    std::lock_guard lock(ckpt_mutex_);
    ckpt_pending_[slot.partition] = std::move(job); // a newer one replaces one not yet stored
  }
  ckpt_cv_.notify_all();
}

void matcher_service::write_checkpoints() {
  std::unique_lock lock(ckpt_mutex_);
  for (;;) {
    ckpt_cv_.wait(lock, [this] { return ckpt_stop_ || !ckpt_pending_.empty(); });
    if (ckpt_pending_.empty()) return; // stopping, nothing left
    auto job = std::move(ckpt_pending_.begin()->second);
    ckpt_pending_.erase(ckpt_pending_.begin());
    ckpt_writing_ = job.partition;
    lock.unlock();
    // Never overwrite the next owner's checkpoint.
    if (!job.slot->fenced) {
      if (auto r = checkpoints_->save(checkpoint_name(job.partition), job.bytes); !r) {
        probe_.error("checkpoint").Increment();
        log_.warn("checkpoint", "partition " + std::to_string(job.partition) + ": " +
                                    service::to_string(r.error()));
      } else {
        probe_.checkpoints.Increment();
        probe_.checkpoint_bytes.Set(static_cast<double>(job.bytes.size()));
        probe_.checkpoint_seconds.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - job.started).count());
      }
    }
    job.slot.reset();
    lock.lock();
    ckpt_writing_ = UINT32_MAX;
    ckpt_cv_.notify_all();
  }
}

void matcher_service::flush_checkpoint(std::uint32_t p) {
  std::unique_lock lock(ckpt_mutex_);
  ckpt_cv_.wait(lock, [&] { return !ckpt_pending_.contains(p) && ckpt_writing_ != p; });
}

bool matcher_service::lease_valid(partition_slot& slot) {
  if (slot.fenced) return false;
  if (steady_ns() < slot.lease_until) return true;
  // Not renewed in time (the heartbeat stalled, the server was away): another node may take the
  // partition once the lease expires, and must not find this worker still fetching from the
  // durable it re-creates. Fence: no fetch, publish, ack or checkpoint; the coordinator stops
  // the worker and, if the lease is still ours, restarts it from the checkpoint.
  slot.fenced = true;
  log_.warn("lease_expired", "partition " + std::to_string(slot.partition) +
                                 ": lease not renewed in time; worker fenced");
  return false;
}

bool matcher_service::publish_all(const std::vector<output>& outputs, const partition_slot& slot) {
  if (outputs.empty()) return true;
  for (bool first = true; first || (!stop_ && !slot.stop && !slot.fenced); first = false) {
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

void matcher_service::run_partition(partition_slot& slot) {
  const auto p = slot.partition;
  caf::scoped_actor self{*sys_};
  const auto fetch_ms = std::max<std::int64_t>(1, cfg_.fetch_timeout_ns / 1'000'000);
  // The state gauges walk every key state: at most once a second.
  auto gauges_due = std::chrono::steady_clock::now();
  const auto ckpt_every =
      std::chrono::nanoseconds(std::max<std::int64_t>(cfg_.checkpoint_interval_ns, 1));
  auto ckpt_due = std::chrono::steady_clock::now() + ckpt_every;
  // Decompressed partition batches, one per message of a fetch (the actor reads views into
  // them), kept across fetches up to 4 MiB in all per partition; the rest is released.
  std::vector<std::string> buffers;
  // Acks (AckAll) are not checkpoints: a new owner restarts from the checkpoint. One per fetch
  // cost nats-server a message per partition message at moderate rates (a fetch is then one
  // message), so the last processed message is acked at most every 50 ms, when the partition
  // goes idle and when the worker stops, never after the lease was lost.
  constexpr auto ack_every = std::chrono::milliseconds(50);
  std::optional<service::message> unacked;
  auto acked_at = std::chrono::steady_clock::now();
  auto ack = [&] {
    if (unacked && lease_valid(slot)) unacked->ack();
    unacked.reset();
    acked_at = std::chrono::steady_clock::now();
  };
  while (!stop_ && !slot.stop && lease_valid(slot)) {
    std::size_t kept = 0;
    for (auto& b : buffers)
      if ((kept += b.capacity()) > (std::size_t{4} << 20)) std::string().swap(b);
    auto batch = slot.consumer->fetch(static_cast<int>(cfg_.fetch_batch), fetch_ms);
    if (!batch) {
      probe_.error("fetch").Increment();
      log_.warn("fetch", "fetch on cw.part." + std::to_string(p) +
                             " failed: " + service::to_string(batch.error()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200)); // back off, not a sync
      continue;
    }
    probe_.queue_wait.observe(*batch);
    if (!batch->empty())
      if (auto meta = batch->back().meta())
        probe_.partition_lag(p).Set(static_cast<double>(meta->pending));
    if (!lease_valid(slot)) break; // fetched after the lease's end: not ours to apply
    if (batch->empty()) {
      ack();
      if (std::chrono::steady_clock::now() >= ckpt_due) {
        checkpoint(slot, self);
        ckpt_due = std::chrono::steady_clock::now() + ckpt_every;
      }
      continue;
    }
    std::vector<output> outputs;
    std::uint64_t applied = slot.last_seq; // the partition's stream order: applied up to here
    const auto start = std::chrono::steady_clock::now();
    // Every message of the fetch goes to the partition actor in one request.
    partition_work work{{}, start >= gauges_due};
    std::vector<std::uint64_t> seqs; // stream sequence of each work message
    for (auto& msg : *batch) {
      std::uint64_t seq = 0;
      if (auto meta = msg.meta()) seq = meta->stream_sequence;
      // Applied already (redelivered because its ack came after ack_wait): applying it again
      // would feed the engine its events twice. Acked with the batch, skipped here.
      if (seq != 0 && seq <= applied) {
        probe_.error("redelivered").Increment();
        continue;
      }
      applied = std::max(applied, seq);
      if (buffers.size() < work.messages.size() + 1) buffers.emplace_back();
      auto decoded = wire::decode_partition_batch_view(msg.data(), buffers[work.messages.size()]);
      if (!decoded) {
        auto reason = wire::to_string(decoded.error().code);
        probe_.error(reason).Increment();
        dlq_.send({.customer = "",
                   .source = "",
                   .stage = "matcher",
                   .reason = reason,
                   .detail = wire::to_string(decoded.error()),
                   .raw = std::string(msg.data())},
                  seq != 0 ? "dl.m." + std::to_string(seq) : "");
        continue;
      }
      work.messages.push_back(std::move(*decoded));
      seqs.push_back(seq);
    }
    if (work.gauges) gauges_due = start + std::chrono::seconds(1);
    partition_results results;
    bool ok = work.messages.empty();
    if (!ok)
      self->request(slot.actor, caf::infinite, std::move(work))
          .receive([&](partition_results& r) { results = std::move(r), ok = true; },
                   [&](caf::error& e) {
                     log_.warn("actor", "partition actor failed: " + to_string(e));
                   });
    if (!ok) probe_.error("actor").Increment(static_cast<double>(seqs.size()));
    const double per_message =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
        static_cast<double>(std::max<std::size_t>(1, seqs.size()));
    for (std::size_t m = 0; m < results.per_message.size(); ++m) {
      auto& res = results.per_message[m];
      const auto seq = seqs[m];
      probe_.events_in.Increment(static_cast<double>(res.events));
      probe_.markers_in.Increment(static_cast<double>(res.markers));
      probe_.late_events.Increment(static_cast<double>(res.late.size()));
      probe_.piped_dropped.Increment(static_cast<double>(res.piped_dropped));
      probe_.undecided.Increment(static_cast<double>(res.undecided));
      if (res.unrouted) probe_.error("unrouted").Increment(static_cast<double>(res.unrouted));
      if (res.bad_events) probe_.error("bad_event").Increment(static_cast<double>(res.bad_events));
      if (res.gauges) {
        probe_.overflow.Increment(static_cast<double>(res.overflow));
        probe_.suppressed.Increment(static_cast<double>(res.suppressed));
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
      probe_.processing.Observe(per_message); // the fetch's time, shared by its messages
      probe_.messages_in.Increment(); // last: once it counts a message, its counters are final
    }
    // Fenced (the lease was lost): another node may own the partition now; publish nothing.
    if (!lease_valid(slot)) break;
    if (!publish_all(outputs, slot)) continue; // stopping: not acked, redelivered later
    if (!lease_valid(slot)) break;             // publishing outlived the lease: do not ack
    unacked = std::move(batch->back());        // AckAll: the fetch's every message, and more
    if (std::chrono::steady_clock::now() - acked_at >= ack_every) ack();
    slot.last_seq = std::max(slot.last_seq, applied);
    if (std::chrono::steady_clock::now() >= ckpt_due) {
      checkpoint(slot, self);
      ckpt_due = std::chrono::steady_clock::now() + ckpt_every;
    }
  }
  ack();
  // Handing over or stopping: the next owner starts from here.
  if (!slot.fenced) checkpoint(slot, self);
}

int run(service::runtime& rt, const matcher_config& cfg) {
  if (auto parts = parse_partitions(cfg.owned, cfg.partitions); !parts) {
    spdlog::error("matcher: {}", parts.error());
    return 2;
  }
  if (cfg.owned == "auto" && cfg.fetch_timeout_ns >= cfg.lease_ns / 3) {
    spdlog::error("matcher: fetch_timeout must be below a third of lease (a worker stops using "
                  "its lease a third of the TTL before it expires)");
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
