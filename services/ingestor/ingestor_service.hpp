#pragma once

// The ingestor: syslog TCP (newline or octet-counted framing) and UDP listeners, each stamped
// with a customer and source type, batching records into raw_batches stored in CW_INGEST
// (cw.ingest.<customer>.<source>) with backpressure: TCP reads pause while too many accepted
// bytes wait for JetStream, and nothing accepted is dropped (failed publishes are retried with
// the same message id).

#include "chainwatch/service/nats_client.hpp"
#include "chainwatch/wire/batcher.hpp"
#include "chainwatch/wire/messages.hpp"
#include "ingestor_config.hpp"
#include "ingestor_probe.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace chainwatch::ingestor {

/// The ingestor service: listeners plus a publisher thread.
class ingestor_service {
public:
  /// Uses `client` and registers metrics in `m`; both must outlive the service.
  ingestor_service(service::nats_client& client, service::metrics& m, ingestor_config cfg);
  /// Stops (if still running).
  ~ingestor_service();
  ingestor_service(const ingestor_service&) = delete;
  ingestor_service& operator=(const ingestor_service&) = delete;

  /// Ensures CW_INGEST, binds every listener and starts the threads; fails on a bad listener.
  expected<std::monostate, std::string> start();
  /// Closes the listeners, then publishes everything accepted (up to drain_timeout).
  void stop();
  /// The bound port of listener `i` (in config order).
  std::uint16_t port(std::size_t i) const { return listeners_.at(i).port; }
  /// Accepts one record (used by the listeners; blocks while the buffer is full).
  void accept(const std::string& customer, const std::string& source, std::string_view bytes);

private:
  struct listener {
    listener_spec spec;
    int fd = -1;
    std::uint16_t port = 0;
    std::thread thread;
  };
  struct stream {
    std::string customer;
    std::string source;
    wire::batcher<wire::raw_record> batch;
    std::uint64_t next_seq = 0;
  };
  struct pending {
    std::string subject;
    std::string data;
    std::string msg_id;
    std::size_t records = 0;
    std::size_t bytes = 0;
  };

  void run_tcp(listener& l);
  void run_udp(listener& l);
  void run_publisher();
  void take_due(std::vector<pending>& out, bool all, std::int64_t now);
  pending seal(stream& s, const char* reason);
  bool publish_round(const std::vector<pending>& round);

  service::nats_client& client_;
  ingestor_config cfg_;
  ingestor_probe probe_;
  std::string producer_;
  std::vector<listener> listeners_;
  std::thread publisher_;
  std::atomic<bool> stop_listeners_{false};
  std::atomic<bool> stop_publisher_{false};
  std::atomic<std::int64_t> give_up_ns_{0};
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::map<std::pair<std::string, std::string>, stream> streams_;
  std::vector<pending> ready_;
  std::size_t buffered_ = 0;
  bool started_ = false;
};

} // namespace chainwatch::ingestor
