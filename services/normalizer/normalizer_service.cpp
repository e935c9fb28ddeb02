#include "normalizer_service.hpp"

#include "chainwatch/wire/subjects.hpp"

#include <chrono>
#include <spdlog/spdlog.h>
#include <thread>

namespace chainwatch::normalizer {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

void bind(service::config_binder& b, normalizer_config& c) {
  b.bind("normalizer.durable", c.durable, "durable consumer on CW_INGEST (shared by replicas)");
  b.bind("normalizer.filter_subject", c.filter_subject,
         "consume only this subject, e.g. cw.ingest.acme.> (empty = all)");
  b.bind("normalizer.sources_dir", c.sources_dir, "directory of the mapping tables <name>.toml");
  b.bind("normalizer.timestamp_field", c.timestamp_field, "field holding the event time");
  b.bind("normalizer.keep_raw", c.keep_raw, "keep the raw record in each event (evidence)");
  b.bind("normalizer.rules", c.rules,
         "route events with these rule files/directories, as the watermark (empty = do not)");
  b.bind("normalizer.lists", c.lists, "lookup list directories, comma-separated");
  b.bind("normalizer.event_type_field", c.event_type_field, "field holding the event category");
  b.bind("normalizer.case_sensitive", c.case_sensitive, "case-sensitive comparisons and keys");
  b.bind("normalizer.fetch_batch", c.fetch_batch, "raw batches fetched per round");
  b.bind_duration("normalizer.fetch_timeout", c.fetch_timeout_ns, "how long a fetch waits");
  b.bind_duration("normalizer.ack_wait", c.ack_wait_ns,
                  "redeliver a batch not acked within this (a crashed replica's) to the others");
  b.bind("normalizer.max_events", c.max_events, "maximum events per published event_batch");
  b.bind("normalizer.max_bytes", c.max_bytes, "maximum bytes per published event_batch");
  b.bind_duration("normalizer.publish_timeout", c.publish_timeout_ns,
                  "wait for the publish acks of one round");
  b.bind("normalizer.publish_retries", c.publish_retries,
         "republish attempts of a failed round before the inputs are nak'ed");
}

normalizer_service::normalizer_service(service::nats_client& client, service::metrics& m,
                                       normalizer_config cfg, pipeline p)
    : client_(client), cfg_(std::move(cfg)), pipeline_(std::move(p)), probe_(m),
      dlq_(client, m, "normalizer") {}

service::nats_status normalizer_service::start() {
  if (auto r = service::ensure_mesh_streams(client_); !r) return r;
  auto c = client_.pull({.stream = service::ingest_stream().name,
                         .durable = cfg_.durable,
                         .filter_subject = cfg_.filter_subject,
                         .ack_wait_ns = cfg_.ack_wait_ns});
  if (!c) return unexpected{c.error()};
  consumer_ = std::move(*c);
  return service::nats_ok();
}

bool normalizer_service::publish_async(const std::vector<output>& outs) {
  for (const auto& o : outs) {
    if (auto r = client_.js_publish_async(o.subject, o.data, o.msg_id); !r) {
      log_.warn("publish", "publish to " + o.subject + " failed: " + service::to_string(r.error()));
      return false;
    }
  }
  return true;
}

bool normalizer_service::complete_round(const std::vector<output>& outs, bool sent) {
  for (std::int64_t attempt = 0;; ++attempt) {
    auto done = client_.js_publish_complete(cfg_.publish_timeout_ns / 1'000'000);
    if (sent && done && client_.js_publish_failures() == failures_before_) return true;
    if (attempt >= cfg_.publish_retries) return false;
    probe_.publish_retries.Increment(); // the same msg ids: JetStream drops what was stored
    failures_before_ = client_.js_publish_failures();
    sent = publish_async(outs);
  }
}

void normalizer_service::settle() {
  if (!in_flight_) return;
  auto round = std::move(*in_flight_);
  in_flight_.reset();
  if (complete_round(round.outs, round.sent)) {
    for (auto& msg : round.inputs)
      msg.ack();
  } else {
    // Not stored: let JetStream redeliver; the deterministic msg ids drop what did get stored.
    log_.warn("publish_failed", "publishing a round failed; inputs nak'ed for redelivery");
    for (auto& msg : round.inputs) {
      msg.nak(1000);
      probe_.naks.Increment();
    }
  }
  probe_.latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - round.started).count());
}

std::size_t normalizer_service::run_once() {
  // With a round in flight, take only what is already waiting: an empty fetch settles it.
  const std::int64_t wait_ms = cfg_.fetch_timeout_ns / 1'000'000;
  auto msgs = consumer_->fetch(static_cast<int>(cfg_.fetch_batch),
                               in_flight_ ? std::min<std::int64_t>(5, wait_ms) : wait_ms);
  if (!msgs) {
    settle();
    log_.warn("fetch", "fetch failed: " + service::to_string(msgs.error()));
    // Disconnected: back off instead of spinning; the client reconnects by itself.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return 0;
  }
  if (msgs->empty()) {
    settle();
    return 0;
  }
  probe_.queue_wait.observe(*msgs);
  auto started = std::chrono::steady_clock::now();
  std::vector<output> outs;
  for (auto& msg : *msgs) {
    probe_.batches_in.Increment();
    auto subject = msg.subject();
    std::string customer(wire::subject_token(subject, 2));
    std::string source(wire::subject_token(subject, 3));
    bool eof = wire::subject_token(subject, 4) == "eof";
    auto meta = msg.meta();
    std::string seq = meta ? std::to_string(meta->stream_sequence) : std::to_string(now_ns());
    auto raw = wire::decode_raw_batch(msg.data());
    if (!raw) {
      std::string reason = wire::to_string(raw.error().code);
      probe_.errors(reason).Increment();
      dlq_.send({.customer = customer,
                 .source = source,
                 .stage = "normalizer",
                 .reason = reason,
                 .detail = wire::to_string(raw.error()),
                 .offset = raw.error().offset,
                 .raw = std::string(msg.data()),
                 .time_ns = now_ns()},
                "dl.n." + seq);
      continue;
    }
    if (eof) {
      // End of input of (customer, source): forwarded in order, as an empty event_batch.
      auto token = pipeline::source_token(raw->source_type);
      if (!wire::valid_token(raw->customer) || !wire::valid_token(token)) continue;
      wire::event_batch marker{.customer = raw->customer, .source = raw->source_type, .events = {}};
      outs.push_back(
          {wire::events_subject(raw->customer, token) + ".eof", wire::encode(marker), "ev." + seq});
      probe_.eof_markers.Increment();
      continue;
    }
    probe_.events_in.Increment(static_cast<double>(raw->records.size()));
    auto result = pipeline_.process(*raw, now_ns());
    for (std::size_t i = 0; i < result.dead_letters.size(); ++i) {
      probe_.errors(result.dead_letters[i].reason).Increment();
      dlq_.send(std::move(result.dead_letters[i]), "dl.n." + seq + "." + std::to_string(i));
    }
    auto subject_out = wire::events_subject(raw->customer, result.source_token);
    for (std::size_t i = 0; i < result.batches.size(); ++i) {
      outs.push_back({subject_out, std::move(result.batches[i]),
                      i == 0 ? "ev." + seq : "ev." + seq + "." + std::to_string(i)});
    }
    probe_.events_out.Increment(static_cast<double>(result.events));
    probe_.batches_out.Increment(static_cast<double>(result.batches.size()));
  }
  // The round before is stored before this one is published: outputs keep the input order.
  settle();
  const auto n = msgs->size();
  failures_before_ = client_.js_publish_failures();
  in_flight_ = round_in_flight{std::move(*msgs), std::move(outs), false, started};
  in_flight_->sent = publish_async(in_flight_->outs);
  // Not under load: nothing to overlap the storing with, so no reason to hold the inputs.
  if (n < static_cast<std::size_t>(cfg_.fetch_batch)) settle();
  return n;
}

void normalizer_service::run(const std::atomic<bool>& stop) {
  while (!stop.load())
    run_once();
  settle();
}

} // namespace chainwatch::normalizer
