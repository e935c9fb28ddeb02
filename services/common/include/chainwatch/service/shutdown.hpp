#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace chainwatch::service {

/// SIGTERM/SIGINT handling: blocks both signals and waits for them on a dedicated sigwait
/// thread, which sets a flag and wakes every waiter. Construct it first in main(), before any
/// other thread starts (NATS, spdlog, CAF), so that those threads inherit the blocked mask and
/// the signal is never delivered to them. One instance per process.
class shutdown_signal {
public:
  /// Blocks SIGTERM and SIGINT in this thread and starts the sigwait thread.
  shutdown_signal();
  shutdown_signal(const shutdown_signal&) = delete;
  shutdown_signal& operator=(const shutdown_signal&) = delete;
  /// Stops the sigwait thread (the signals stay blocked).
  ~shutdown_signal();

  /// True once a signal arrived or request() was called.
  bool requested() const noexcept { return requested_.load(std::memory_order_acquire); }
  /// Requests shutdown programmatically (e.g. on a fatal error); wakes waiters.
  void request(int signo = 0);
  /// Blocks until shutdown is requested.
  void wait();
  /// Blocks until shutdown is requested or `timeout` passes; returns requested().
  bool wait_for(std::chrono::nanoseconds timeout);
  /// The signal that requested shutdown (0 if request() was called without one).
  int signal_number() const noexcept { return signo_.load(); }

private:
  void run();

  std::atomic<bool> requested_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> signo_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
};

} // namespace chainwatch::service
