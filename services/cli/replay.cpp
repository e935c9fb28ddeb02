// `chainwatch replay`: sends raw log lines into the mesh's ingest path (CW_INGEST), paced by a
// fixed rate or by the events' own timestamps, then marks end of input for (customer, source).

#include "commands.hpp"
#include "event_time.hpp"
#include "input.hpp"

#include <algorithm>
#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <chainwatch/service/mesh.hpp>
#include <chainwatch/service/nats_client.hpp>
#include <chainwatch/wire/messages.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

namespace chainwatch::cli {

namespace {

using steady = std::chrono::steady_clock;

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The ingestor's subject token of a source type: '.' becomes '_'.
std::string source_token(std::string_view source) {
  std::string out(source);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

} // namespace

int run_replay(const replay_options& o) {
  auto token = source_token(o.source);
  if (!wire::valid_token(o.customer) || !wire::valid_token(token)) {
    std::cerr << "chainwatch replay: --customer and --source must be [A-Za-z0-9_-] (source may "
                 "use '.')\n";
    return 2;
  }
  if (o.rate < 0 || o.speedup < 0 || (o.rate > 0 && o.speedup > 0)) {
    std::cerr << "chainwatch replay: give at most one of --rate N (lines/s) and --speedup X\n";
    return 2;
  }
  service::nats_options no;
  no.url = o.nats;
  no.name = "chainwatch-replay";
  auto client = service::nats_client::connect(no);
  if (!client) {
    std::cerr << "chainwatch replay: " << service::to_string(client.error()) << "\n";
    return 1;
  }
  auto& nats = **client;
  if (auto r = nats.ensure_stream(service::ingest_stream()); !r) {
    std::cerr << "chainwatch replay: " << service::to_string(r.error()) << "\n";
    return 1;
  }

  const std::string subject = wire::ingest_subject(o.customer, token);
  char producer[32];
  std::snprintf(producer, sizeof producer, "replay-%llx",
                static_cast<unsigned long long>(wall_ns()));
  const std::string id_prefix = o.customer + "." + token + "." + producer + ".";
  wire::raw_batch batch{.customer = o.customer,
                        .source_type = o.source,
                        .ingest_ns = 0,
                        .records = {},
                        .origin = {},
                        .header = {}};
  std::size_t batch_bytes = 0;
  std::uint64_t lines = 0, batches = 0, failed = 0;
  std::uint64_t seen_failures = nats.js_publish_failures(), unconfirmed_errors = 0;
  // Batches published since the last confirmed point: if any of them was not stored (the server
  // went away, a timeout), all are published again with the same msg ids until JetStream has
  // them; the ids make the repeats duplicates. So a server restart mid-replay loses nothing.
  struct sent {
    std::string subject, data, id;
  };
  std::vector<sent> window;
  auto confirm = [&] {
    if (window.empty()) return true;
    const auto give_up = steady::now() + std::chrono::minutes(5);
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      bool ok = nats.js_publish_complete(10'000).has_value();
      if (ok && nats.js_publish_failures() == seen_failures) {
        window.clear();
        return true;
      }
      seen_failures = nats.js_publish_failures();
      if (steady::now() > give_up) {
        failed += window.size();
        window.clear();
        return false;
      }
      std::fprintf(stderr,
                   "\nchainwatch replay: %zu batches not confirmed; publishing them again\n",
                   window.size());
      std::this_thread::sleep_for(backoff); // backoff while the client reconnects
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      for (const auto& b : window)
        (void)nats.js_publish_async(b.subject, b.data, b.id, 2000);
    }
  };
  auto send = [&](std::string subj, std::string data, std::string id) {
    if (!nats.js_publish_async(subj, data, id, 2000)) ++unconfirmed_errors;
    window.push_back({std::move(subj), std::move(data), std::move(id)});
    if (window.size() >= 16 || unconfirmed_errors > 0) {
      confirm();
      unconfirmed_errors = 0;
    }
  };
  auto flush = [&] {
    if (batch.records.empty()) return;
    batch.ingest_ns = wall_ns(); // when the lines were read: the year of year-less syslog dates
    auto id = id_prefix + std::to_string(batch.records.front().sequence.value_or(0));
    send(subject, wire::encode(batch), id);
    ++batches;
    batch.records.clear();
    batch_bytes = 0;
  };

  const bool tty = o.progress && isatty(2);
  const auto start = steady::now();
  auto last_flush = start;
  auto last_bar = start;
  std::optional<std::int64_t> first_event_ns;
  event::json_decoder decoder;
  event::field_path ts_path{o.timestamp_field};

  auto pace = [&](std::string_view line) {
    steady::time_point due = start;
    if (o.rate > 0) {
      due += std::chrono::nanoseconds(static_cast<std::int64_t>(lines * 1e9 / o.rate));
    } else if (o.speedup > 0) {
      auto ev = decoder.decode(line);
      if (!ev) return;
      auto ts = event_time(ev->get(ts_path), time_format::automatic);
      if (!ts) return;
      if (!first_event_ns) first_event_ns = *ts;
      due += std::chrono::nanoseconds(
          static_cast<std::int64_t>(static_cast<double>(*ts - *first_event_ns) / o.speedup));
    } else {
      return;
    }
    // Lines go out in bursts of up to 1 ms: a sleep per line (25 us apart at 40k lines/s) would
    // cost a syscall and a context switch each, CPU the mesh on the same machine needs.
    auto now = steady::now();
    if (due - now > std::chrono::milliseconds(1)) {
      if (due - now > std::chrono::milliseconds(20)) flush(); // don't hold records while waiting
      std::this_thread::sleep_until(due);                     // pacing, not synchronization
    }
  };

  // A Zeek TSV file's `#` header block (separator, #fields, #types, ...) goes with every batch of
  // the lines it describes, not as records: each batch is normalized on its own, by any replica.
  const bool zeek = o.source == "zeek" || o.source.starts_with("zeek.");
  bool data_since_header = true;
  auto on_line = [&](std::string_view line, std::uint64_t) {
    if (line.empty()) return;
    if (zeek && line.front() == '#') {
      flush(); // the records so far belong to the header before this one
      if (data_since_header) batch.header.clear();
      data_since_header = false;
      batch.header.emplace_back(line);
      return;
    }
    data_since_header = true;
    pace(line);
    if (batch.records.size() >= 1000 || batch_bytes + line.size() > 512 * 1024) flush();
    batch.records.push_back({std::string(line), std::nullopt, lines});
    batch_bytes += line.size() + 16;
    ++lines;
    auto now = steady::now();
    if (now - last_flush > std::chrono::milliseconds(50)) {
      flush();
      last_flush = now;
    }
    if (tty && now - last_bar > std::chrono::milliseconds(250)) {
      last_bar = now;
      double secs = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "\r\033[K%llu lines  %.0f lines/s  %llu batches",
                   static_cast<unsigned long long>(lines), lines / (secs > 0 ? secs : 1),
                   static_cast<unsigned long long>(batches));
    }
  };

  // One (customer, source) is one source of event time in the mesh: several files go into it one
  // after another, so a later file's events older than an earlier file's newest less the
  // lateness are late (hunt reads several files side by side; the mesh cannot, yet).
  if (o.files.size() > 1)
    std::fprintf(stderr,
                 "chainwatch replay: %zu files go one after another into one source "
                 "(%s of %s): events of a later file that are older than the lateness "
                 "allows are late; send files that overlap in time as merged one file\n",
                 o.files.size(), o.source.c_str(), o.customer.c_str());
  int status = 0;
  for (const auto& f : o.files) {
    // The file's name says what its lines are when the source type does not (`ssh.log`).
    flush();
    batch.origin = f == "-" ? std::string() : std::filesystem::path(f).filename().string();
    batch.header.clear();
    data_since_header = true;
    if (auto e = for_each_line(f, on_line); !e.empty()) {
      std::cerr << "\nchainwatch replay: " << e << "\n";
      status = 1;
    }
  }
  flush();
  // End of input of (customer, source): an empty raw_batch on cw.ingest.<c>.<source>.eof, which
  // the normalizer forwards in order and the watermark service turns into +inf for the source.
  confirm(); // every batch stored before the end-of-input marker
  if (o.eof) {
    wire::raw_batch eof{.customer = o.customer,
                        .source_type = o.source,
                        .ingest_ns = wall_ns(),
                        .records = {},
                        .origin = {},
                        .header = {}};
    send(subject + ".eof", wire::encode(eof), id_prefix + "eof");
  }
  confirm();
  if (tty) std::fputs("\r\033[K", stderr);
  double secs = std::chrono::duration<double>(steady::now() - start).count();
  std::fprintf(stderr, "replay: %llu lines in %llu batches to %s%s, %.2fs%s\n",
               static_cast<unsigned long long>(lines), static_cast<unsigned long long>(batches),
               subject.c_str(), o.eof ? " (+ end of input)" : "", secs,
               failed ? ", SOME PUBLISHES FAILED" : "");
  return failed ? 1 : status;
}

} // namespace chainwatch::cli
