#include "watermark_service.hpp"

#include "chainwatch/event/event.hpp"
#include "chainwatch/wire/partition.hpp"
#include "chainwatch/wire/subjects.hpp"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <spdlog/spdlog.h>
#include <thread>

namespace chainwatch::watermark {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

void bind(service::config_binder& b, watermark_config& c) {
  b.bind("watermark.durable", c.durable, "durable consumer on CW_EVENTS");
  b.bind("watermark.filter_subject", c.filter_subject,
         "consume only this subject, e.g. cw.events.acme.> (shard by customer; empty = all)");
  b.bind("watermark.partitions", c.partitions, "partitions P (cw.part.0..P-1), as the matchers");
  b.bind("watermark.rules", c.rules, "rule TOML files or directories, comma-separated");
  b.bind("watermark.lists", c.lists, "lookup list directories, comma-separated");
  b.bind("watermark.event_type_field", c.event_type_field, "field holding the event category");
  b.bind("watermark.case_sensitive", c.case_sensitive, "case-sensitive comparisons and keys");
  b.bind_duration("watermark.lateness", c.lateness_ns, "default allowed lateness per source");
  b.bind("watermark.lateness_overrides", c.lateness_overrides,
         "per-source lateness: source=10s,customer/source=250ms");
  b.bind_duration("watermark.max_future", c.max_future_ns,
                  "an event this far ahead of its ingest time is skewed (to cw.late, reason skew)");
  b.bind("watermark.max_future_overrides", c.max_future_overrides,
         "per-source max_future: source=1h,customer/source=10m");
  b.bind_duration("watermark.idle_timeout", c.idle_timeout_ns,
                  "a source silent this long stops holding its customer's watermark");
  b.bind_duration("watermark.marker_interval", c.marker_interval_ns,
                  "minimum interval between idle-driven (wall-clock) marker rounds");
  b.bind("watermark.fetch_batch", c.fetch_batch, "event batches fetched at once");
  b.bind_duration("watermark.fetch_timeout", c.fetch_timeout_ns,
                  "how long a fetch waits (also the idle-check period)");
  b.bind("watermark.max_items", c.max_items, "maximum items per partition_batch");
  b.bind("watermark.max_bytes", c.max_bytes, "maximum bytes per partition_batch");
  b.bind_duration("watermark.checkpoint_interval", c.checkpoint_interval_ns,
                  "how often the per-source state is checkpointed (0: never)");
  b.bind_duration("watermark.publish_timeout", c.publish_timeout_ns,
                  "wait for the publish acks of one round");
  b.bind("watermark.publish_retries", c.publish_retries,
         "republish attempts of a failed round before the input is nak'ed");
}

router_stage::router_stage(std::shared_ptr<const engine::ruleset> rules, std::uint32_t partitions,
                           engine::watermark_tracker tracker, engine::source_durations max_future)
    : router_(std::move(rules)), fingerprint_(router_.rules()->fingerprint()),
      partitions_(std::max<std::uint32_t>(1, partitions)), tracker_(std::move(tracker)),
      max_future_(std::move(max_future)) {}

void router_stage::marker(const std::string& customer, const engine::watermark_update& u,
                          std::int64_t now_ns, routed_output& out) {
  // Every partition gets the marker, so partitions without this customer's events advance too.
  // It carries the wall clock of this moment, when the watermark passed: the matchers hand it on
  // with the matches it releases, and the alerter measures watermark-to-alert latency from it.
  // It also says what the advance rests on: idle sources (the wall clock), or the end of input
  // with the latest event time seen (the horizon past which absences are undecided).
  for (std::uint32_t p = 0; p < partitions_; ++p)
    out.part(p).add_marker(customer, u.watermark_ns, now_ns, u.idle, u.horizon_ns);
  out.markers += partitions_;
}

void router_stage::add(const wire::event_batch_view& batch, std::int64_t now_ns,
                       routed_output& out) {
  const auto& customer = batch.customer;
  const auto& source = batch.source;
  const std::int64_t max_future = max_future_.of(customer, source);
  auto set_aside = [&](const wire::event_record_view& rec, std::int64_t wm, const char* reason) {
    // Operators' tools read cw.late: the event with its key names, not chainwatch's codes
    // (bytes that do not decode go out as they came).
    std::string named;
    event::append_msgpack(named, event::event::encoded(std::string(rec.event)),
                          event::msgpack_keys::names);
    out.late.push_back(wire::late_event{.customer = customer,
                                        .key = {},
                                        .event_ns = rec.event_ns,
                                        .watermark_ns = wm,
                                        .ingest_ns = rec.ingest_ns,
                                        .event = std::move(named),
                                        .reason = reason});
  };
  for (const auto& rec : batch.events) {
    // The skew guard: an event stamped ahead of the time it was received has a wrong clock; let
    // it move the watermark and every other source's events would be late.
    if (rec.ingest_ns > 0 && engine::skewed(rec.event_ns, rec.ingest_ns, max_future)) {
      ++out.skewed;
      set_aside(rec, tracker_.watermark(customer), "skew");
      continue;
    }
    tracker_.observe(customer, source, rec.event_ns, now_ns);
    auto wm = tracker_.watermark(customer);
    if (rec.event_ns < wm) {
      set_aside(rec, wm, "late");
      continue;
    }
    auto emit = [&](std::string_view key, std::uint64_t hash,
                    std::span<const engine::step_id> hits) {
      auto p = wire::partition_of(hash, partitions_);
      out.part(p).add_event(customer, hash, key, rec.event_ns, rec.ingest_ns, rec.event,
                            hits.empty() ? 0 : fingerprint_, hits);
      ++out.items;
    };
    if (rec.rules != 0 && rec.rules == fingerprint_) { // routed by the normalizer, these rules
      ++out.prerouted;
      auto routes = batch.routes_of(rec);
      if (routes.empty() && !rec.event_rules) {
        ++out.dropped;
        continue;
      }
      ++out.routed;
      for (const auto& r : routes)
        emit(r.key, wire::key_hash(customer, r.key), batch.hits_of(r));
      if (rec.event_rules) emit({}, wire::key_hash(customer, rec.event), {});
      continue;
    }
    if (rec.rules != 0) ++out.rerouted;
    auto ev = event::from_msgpack(rec.event);
    if (!ev) {
      out.dead_letters.push_back(wire::dead_letter{.customer = customer,
                                                   .source = batch.source,
                                                   .stage = "watermark",
                                                   .reason = "bad_event",
                                                   .detail = ev.error().reason,
                                                   .offset = ev.error().offset,
                                                   .raw = std::string(rec.event),
                                                   .time_ns = now_ns});
      continue;
    }
    router_.route(*ev);
    auto entries = router_.entries();
    bool event_rules = !router_.event_rules().empty();
    if (entries.empty() && !event_rules) {
      ++out.dropped;
      continue;
    }
    ++out.routed;
    // One copy per distinct join key (the router groups hits by key), with the steps it hit so
    // the matcher need not route again ...
    for (const auto& e : entries)
      emit(e.key, wire::key_hash(customer, e.key), e.hits);
    // ... and, for event-query rules, one copy with an empty key spread by the event's bytes.
    if (event_rules) emit({}, wire::key_hash(customer, rec.event), {});
  }
  if (auto u = tracker_.advance(customer, now_ns)) marker(customer, *u, now_ns, out);
}

void router_stage::eof(const std::string& customer, const std::string& source, std::int64_t now_ns,
                       routed_output& out) {
  tracker_.eof(customer, source, now_ns);
  if (auto u = tracker_.advance(customer, now_ns)) marker(customer, *u, now_ns, out);
}

void router_stage::tick(std::int64_t now_ns, routed_output& out) {
  for (auto& [customer, u] : tracker_.tick(now_ns))
    marker(customer, u, now_ns, out);
}

std::string snapshot(const engine::watermark_tracker& t) {
  wire::watermark_checkpoint c;
  for (const auto& [customer, sources] : t.sources())
    for (const auto& [source, s] : sources)
      c.sources.push_back({customer, source, s.max_event_ns, s.last_seen_ns, s.lateness_ns, s.eof});
  for (const auto& [customer, wm] : t.watermarks())
    c.watermarks.push_back({customer, wm});
  return wire::encode(c);
}

bool restore(engine::watermark_tracker& t, std::string_view bytes) {
  auto c = wire::decode_watermark_checkpoint(bytes);
  if (!c) return false;
  engine::watermark_tracker::source_map sources;
  std::map<std::string, std::int64_t> watermarks;
  for (const auto& s : c->sources)
    sources[s.customer][s.source] = {s.max_event_ns, s.last_seen_ns, s.lateness_ns, s.eof};
  for (const auto& w : c->watermarks)
    watermarks[w.customer] = w.watermark_ns;
  t.assign(std::move(sources), std::move(watermarks));
  return true;
}

watermark_service::watermark_service(service::nats_client& client, service::metrics& m,
                                     watermark_config cfg,
                                     std::shared_ptr<const engine::ruleset> rules,
                                     engine::source_durations lateness,
                                     engine::source_durations max_future)
    : client_(client), cfg_(std::move(cfg)),
      stage_(std::move(rules), static_cast<std::uint32_t>(cfg_.partitions),
             engine::watermark_tracker(std::move(lateness), cfg_.idle_timeout_ns),
             std::move(max_future)),
      probe_(m), dlq_(client, m, "watermark") {}

service::nats_status watermark_service::start() {
  if (auto r = service::ensure_mesh_streams(client_); !r) return r;
  if (cfg_.checkpoint_interval_ns > 0) {
    auto kv = client_.key_value("cw_checkpoints", 1);
    if (!kv) return unexpected{kv.error()};
    checkpoints_kv_ = std::move(*kv);
    checkpoints_ = std::make_unique<service::blob_store>(*checkpoints_kv_);
    // The state of the inputs acked before a restart (those after it are redelivered).
    auto blob = checkpoints_->load("watermark." + cfg_.durable);
    if (!blob) return unexpected{blob.error()};
    if (*blob && !restore(stage_.tracker(), **blob)) {
      probe_.errors("checkpoint_restore").Increment();
      log_.warn("checkpoint_restore", "watermark checkpoint unreadable; starting empty");
    }
    // The extent of the last round begun: if it was not acked, it is cut the same way again.
    auto plan = checkpoints_->load(round_plan_name());
    if (!plan) return unexpected{plan.error()};
    if (*plan) {
      std::uint64_t first = 0, last = 0;
      if (std::sscanf((*plan)->c_str(), "%" SCNu64 " %" SCNu64, &first, &last) == 2)
        replay_until_ = last;
    }
  }
  return bind();
}

service::nats_status watermark_service::bind() {
  consumer_.reset();
  // One watermark service reads the durable, in stream order: after a crash, the batches it
  // held unacked come again at once instead of after ack_wait, behind newer ones (late then).
  auto c = client_.pull({.stream = service::events_stream().name,
                         .durable = cfg_.durable,
                         .filter_subject = cfg_.filter_subject,
                         .resume_at_ack_floor = true,
                         .ack_all = true});
  if (!c) return unexpected{c.error()};
  consumer_ = std::move(*c);
  return service::nats_ok();
}

routed_output watermark_service::fresh_output() const {
  routed_output r;
  r.max_items = static_cast<std::size_t>(std::max<std::int64_t>(1, cfg_.max_items));
  r.max_bytes = static_cast<std::size_t>(std::max<std::int64_t>(1, cfg_.max_bytes));
  return r;
}

void watermark_service::encode(routed_output& r, const std::string& id_prefix,
                               std::vector<output>& outs) {
  for (auto& [p, builder] : r.parts) {
    auto batches = builder.finish();
    for (std::size_t chunk = 0; chunk < batches.size(); ++chunk) {
      auto id = id_prefix + "." + std::to_string(p);
      if (chunk > 0) id += "." + std::to_string(chunk);
      outs.push_back({wire::partition_subject(p), std::move(batches[chunk]), std::move(id)});
    }
  }
  for (std::size_t i = 0; i < r.late.size(); ++i) {
    if (r.late[i].reason == "skew")
      probe_.skewed(r.late[i].customer).Increment();
    else
      probe_.late(r.late[i].customer).Increment();
    outs.push_back({wire::late_subject(r.late[i].customer), wire::encode(r.late[i]),
                    "lt" + id_prefix.substr(id_prefix.find('.')) + "." + std::to_string(i)});
  }
  for (std::size_t i = 0; i < r.dead_letters.size(); ++i) {
    probe_.errors(r.dead_letters[i].reason).Increment();
    dlq_.send(std::move(r.dead_letters[i]), "dl.w." + id_prefix + "." + std::to_string(i));
  }
  probe_.events_routed.Increment(static_cast<double>(r.routed));
  probe_.events_prerouted.Increment(static_cast<double>(r.prerouted));
  if (r.rerouted > 0) {
    probe_.events_rerouted.Increment(static_cast<double>(r.rerouted));
    log_.warn("rerouted", "the normalizer routes with other rules (fingerprint differs from "
                          "this service's): events are routed again here");
  }
  probe_.events_dropped.Increment(static_cast<double>(r.dropped));
  probe_.events_out.Increment(static_cast<double>(r.items));
  probe_.markers_out.Increment(static_cast<double>(r.markers));
}

bool watermark_service::publish_round(const std::vector<output>& outs) {
  for (std::int64_t attempt = 0; attempt <= cfg_.publish_retries; ++attempt) {
    if (attempt > 0) probe_.publish_retries.Increment();
    auto failures = client_.js_publish_failures();
    bool ok = true;
    for (const auto& o : outs) {
      if (auto r = client_.js_publish_async(o.subject, o.data, o.msg_id); !r) {
        log_.warn("publish",
                  "publish to " + o.subject + " failed: " + service::to_string(r.error()));
        ok = false;
        break;
      }
    }
    auto done = client_.js_publish_complete(cfg_.publish_timeout_ns / 1'000'000);
    if (ok && done && client_.js_publish_failures() == failures) return true;
  }
  return false;
}

void watermark_service::checkpoint(bool now) {
  if (!checkpoints_ || !dirty_) return;
  auto t = now_ns();
  if (!now && t - last_checkpoint_ns_ < cfg_.checkpoint_interval_ns) return;
  if (auto r = checkpoints_->save("watermark." + cfg_.durable, snapshot(stage_.tracker())); !r) {
    probe_.errors("checkpoint").Increment();
    log_.warn("checkpoint", "watermark checkpoint failed: " + service::to_string(r.error()));
    return;
  }
  last_checkpoint_ns_ = t;
  dirty_ = false;
}

void watermark_service::update_gauges(std::int64_t now) {
  for (const auto& [customer, sources] : stage_.tracker().sources()) {
    auto wm = stage_.tracker().watermark(customer);
    if (wm == engine::end_of_time)
      probe_.customer_lag(customer).Set(0); // every source at end of input: nothing waits
    else if (wm != engine::no_watermark)
      probe_.customer_lag(customer).Set(static_cast<double>(now - wm) / 1e9);
    int idle = 0;
    for (const auto& [source, s] : sources) {
      if (stage_.tracker().idle(s, now)) ++idle;
      if (s.max_event_ns != engine::no_watermark)
        probe_.source_lag(customer, source).Set(static_cast<double>(now - s.max_event_ns) / 1e9);
    }
    probe_.idle_sources(customer).Set(idle);
  }
}

namespace {

std::uint64_t stream_seq(const service::message& m) {
  auto meta = m.meta();
  return meta ? meta->stream_sequence : 0;
}

} // namespace

std::string watermark_service::round_plan_name() const {
  return "watermark." + cfg_.durable + ".round";
}

std::size_t watermark_service::round_end(const std::vector<service::message>& msgs,
                                         std::size_t begin) {
  // Without the KV bucket there is nowhere to write a round's extent: one input per round, whose
  // ids need no plan (the pre-round behaviour).
  if (!checkpoints_) return begin + 1;
  if (replay_until_ > 0) {
    const auto until = std::exchange(replay_until_, 0);
    if (stream_seq(msgs[begin]) <= until) {
      std::size_t end = begin + 1;
      while (end < msgs.size() && stream_seq(msgs[end]) <= until)
        ++end;
      return end;
    }
  }
  return msgs.size();
}

bool watermark_service::run_round(std::span<service::message> msgs) {
  const auto first = stream_seq(msgs.front()), last = stream_seq(msgs.back());
  std::string id = "pt." + (first != 0 ? std::to_string(first) : std::to_string(now_ns()));
  if (last != first) id += "-" + std::to_string(last);
  // The round's extent goes to KV before any of its outputs: after a crash, the round is cut
  // the same way again, so its outputs get the same ids and JetStream drops what was stored.
  if (checkpoints_ && first != 0) {
    if (auto r = checkpoints_->save(round_plan_name(),
                                    std::to_string(first) + " " + std::to_string(last));
        !r) {
      probe_.errors("round_plan").Increment();
      log_.warn("round_plan",
                "writing the round's extent failed: " + service::to_string(r.error()));
      return false;
    }
  }
  std::vector<output> outs;
  routed_output r = fresh_output();
  bool eof_seen = false;
  // A failed round is routed again from the same tracker state, so it comes out the same:
  // the state of each customer it touches, as it was before.
  std::map<std::string, engine::watermark_tracker::saved_customer> before;
  for (auto& msg : msgs) {
    probe_.batches_in.Increment();
    auto seq = stream_seq(msg);
    auto subject = msg.subject();
    bool eof = wire::subject_token(subject, 4) == "eof";
    eof_seen = eof_seen || eof;
    auto batch = wire::decode_event_batch_view(msg.data()); // views: used before the next decode
    if (!batch) {
      std::string reason = wire::to_string(batch.error().code);
      probe_.errors(reason).Increment();
      dlq_.send({.customer = std::string(wire::subject_token(subject, 2)),
                 .source = std::string(wire::subject_token(subject, 3)),
                 .stage = "watermark",
                 .reason = reason,
                 .detail = wire::to_string(batch.error()),
                 .offset = batch.error().offset,
                 .raw = std::string(msg.data()),
                 .time_ns = now_ns()},
                "dl.w." + (seq != 0 ? std::to_string(seq) : id));
      continue;
    }
    if (!before.contains(batch->customer))
      before.emplace(batch->customer, stage_.tracker().save(batch->customer));
    if (eof) {
      probe_.eof_markers.Increment();
      stage_.eof(batch->customer, batch->source, now_ns(), r);
    } else {
      probe_.events_in.Increment(static_cast<double>(batch->events.size()));
      stage_.add(*batch, now_ns(), r);
    }
  }
  encode(r, id, outs);
  if (!publish_round(outs)) {
    replay_until_ = last; // read again: cut the same round
    for (auto& [customer, saved] : before)
      stage_.tracker().put_back(customer, std::move(saved));
    return false;
  }
  msgs.back().ack(); // AckAll: the round's every input
  dirty_ = true;
  checkpoint(eof_seen);
  return true;
}

std::size_t watermark_service::run_once() {
  if (rebind_) {
    if (auto r = bind(); !r) {
      log_.warn("fetch", "binding the consumer failed: " + service::to_string(r.error()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100)); // back off, not a sync
      return 0;
    }
    rebind_ = false;
  }
  auto msgs =
      consumer_->fetch(static_cast<int>(cfg_.fetch_batch), cfg_.fetch_timeout_ns / 1'000'000);
  if (!msgs) {
    log_.warn("fetch", "fetch failed: " + service::to_string(msgs.error()));
    // Disconnected: back off instead of spinning; the client reconnects by itself.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    msgs = std::vector<service::message>{};
  }
  // A round is every input of a fetch (one input per round without the KV bucket): its inputs
  // are routed into one partition_batch per partition (ids `pt.<first seq>[-<last seq>].<p>
  // [.<chunk>]`), published asynchronously, and acked once JetStream stored the lot. One message
  // per partition per round instead of per input: the broker's and the matchers' per-message
  // costs. A round interrupted by a crash is cut again from its plan (round_plan_name()), so a
  // redelivery republishes the same ids. A round that fails to publish is started again from
  // the ack floor (its first input), cut the same way: nothing after it may be acked first,
  // since an AckAll ack would acknowledge the failed round with it. See docs/mesh.md
  // ("Markers interleaved").
  if (replay_until_ > 0 && !msgs->empty()) {
    // The interrupted round's inputs first, all of them (a fetch may bring fewer).
    while (stream_seq(msgs->back()) != 0 && stream_seq(msgs->back()) < replay_until_) {
      auto more = consumer_->fetch(
          static_cast<int>(std::min<std::uint64_t>(replay_until_ - stream_seq(msgs->back()),
                                                   static_cast<std::uint64_t>(1) << 16)),
          cfg_.fetch_timeout_ns / 1'000'000);
      if (!more || more->empty()) break; // gone (stream limits): the round is what is left
      for (auto& m : *more)
        msgs->push_back(std::move(m));
    }
  }
  probe_.queue_wait.observe(*msgs);
  auto started = std::chrono::steady_clock::now();
  for (std::size_t begin = 0; begin < msgs->size();) {
    auto end = round_end(*msgs, begin);
    if (!run_round(std::span<service::message>(msgs->data() + begin, end - begin))) {
      log_.warn("publish_failed", "publishing a round failed; reading again from its first input");
      rebind_ = true;
      break;
    }
    begin = end;
  }
  if (!msgs->empty())
    probe_.latency.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // Idle sources: the watermark moves with the wall clock.
  auto now = now_ns();
  routed_output idle = fresh_output();
  if (now - last_tick_ns_ >= cfg_.marker_interval_ns) {
    last_tick_ns_ = now;
    stage_.tick(now, idle);
  }
  if (idle.markers > 0) {
    std::vector<output> outs;
    std::string id = "wm";
    for (const auto& [customer, srcs] : stage_.tracker().sources())
      id += "." + customer + "-" + std::to_string(stage_.tracker().watermark(customer));
    // Long ids are fine for dedup; keep them bounded anyway.
    if (id.size() > 200) id = "wm." + std::to_string(std::hash<std::string>{}(id));
    encode(idle, id, outs);
    if (!publish_round(outs))
      log_.warn("publish_failed", "publishing idle markers failed");
    else
      dirty_ = true;
  }
  update_gauges(now);
  return msgs->size();
}

} // namespace chainwatch::watermark
