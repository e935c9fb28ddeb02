// `chainwatch alerts tail`: prints alerts as they are published on cw.alerts.* (core NATS
// subscription: alerts from now on), until --count arrived (exit 0) or --timeout passed (exit 1).

#include "commands.hpp"

#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <chainwatch/service/nats_client.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <unistd.h>

namespace chainwatch::cli {

namespace {

/// One readable line: time, severity, customer, rule name, key, event span, evidence count.
std::string readable(std::string_view subject, std::string_view json) {
  event::json_decoder dec;
  auto doc = dec.decode(json);
  if (!doc) return std::string(subject) + " " + std::string(json);
  auto str = [&](const char* path) {
    auto v = doc->get(event::field_path{path});
    return std::string(v.type() == event::kind::string ? v.as_string() : "");
  };
  std::string key;
  if (auto k = doc->get(event::field_path{"key"}); k.exists()) event::append_json(key, k);
  std::size_t evidence = 0;
  if (auto e = doc->get(event::field_path{"evidence"}); e.type() == event::kind::array)
    for (auto c = e.first_child(); c.exists(); c = c.next_sibling())
      ++evidence;
  return str("detection_time") + "  " + str("rule.severity") + "  " + str("customer") + "  " +
         str("rule.name") + "  key=" + key + "  " + str("first_event_time") + " .. " +
         str("last_event_time") + "  (" + std::to_string(evidence) + " events)";
}

} // namespace

/// Reads the stored alerts (a temporary durable consumer on CW_ALERTS, from the first message):
/// what JetStream kept, each alert once, unlike the core subscription, which also sees a
/// publisher's retries that the stream dropped as duplicates.
static int tail_stream(service::nats_client& client, const std::string& subject,
                       const alerts_options& o, std::int64_t timeout_ns) {
  service::consumer_spec spec;
  spec.stream = "CW_ALERTS";
  spec.durable = "tail-" + std::to_string(::getpid()) + "-" +
                 std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  spec.filter_subject = subject;
  auto consumer = client.pull(spec);
  if (!consumer) {
    std::cerr << "chainwatch alerts tail: " << service::to_string(consumer.error()) << "\n";
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
  std::uint64_t seen = 0;
  bool reached = o.count == 0;
  while (!reached && (timeout_ns <= 0 || std::chrono::steady_clock::now() < deadline)) {
    auto msgs = (*consumer)->fetch(256, 200);
    if (!msgs) continue;
    for (auto& msg : *msgs) {
      std::string line = o.json ? std::string(msg.data()) : readable(msg.subject(), msg.data());
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      msg.ack();
      if (++seen >= o.count && o.count > 0) {
        reached = true;
        break;
      }
    }
    std::fflush(stdout);
  }
  consumer->reset();
  (void)client.delete_consumer(spec.stream, spec.durable);
  return reached ? 0 : 1;
}

int run_alerts_tail(const alerts_options& o) {
  if (!o.customer.empty() && !wire::valid_token(o.customer)) {
    std::cerr << "chainwatch alerts tail: --customer must be [A-Za-z0-9_-]\n";
    return 2;
  }
  auto timeout = time::parse_duration(o.timeout);
  if (!timeout) {
    std::cerr << "chainwatch alerts tail: invalid --timeout '" << o.timeout << "' (e.g. 30s)\n";
    return 2;
  }
  service::nats_options no;
  no.url = o.nats;
  no.name = "chainwatch-alerts";
  auto client = service::nats_client::connect(no);
  if (!client) {
    std::cerr << "chainwatch alerts tail: " << service::to_string(client.error()) << "\n";
    return 1;
  }
  const std::string subject = o.customer.empty() ? "cw.alerts.>" : "cw.alerts." + o.customer + ".>";
  if (o.stream) return tail_stream(**client, subject, o, *timeout);
  std::mutex mutex;
  std::condition_variable cv;
  std::uint64_t seen = 0;
  auto sub = (*client)->subscribe(subject, [&](service::message msg) {
    std::string line = o.json ? std::string(msg.data()) : readable(msg.subject(), msg.data());
    std::lock_guard lock(mutex);
    if (o.count > 0 && seen >= o.count) return;
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    ++seen;
    cv.notify_all();
  });
  if (!sub) {
    std::cerr << "chainwatch alerts tail: " << service::to_string(sub.error()) << "\n";
    return 1;
  }
  std::unique_lock lock(mutex);
  auto done = [&] { return o.count > 0 && seen >= o.count; };
  bool reached = true;
  if (*timeout <= 0)
    cv.wait(lock, done); // no timeout: until --count alerts (or Ctrl-C)
  else
    reached = cv.wait_for(lock, std::chrono::nanoseconds(*timeout), done) || o.count == 0;
  lock.unlock();
  sub->reset(); // waits for the last callback before `seen` goes away
  return reached ? 0 : 1;
}

} // namespace chainwatch::cli
