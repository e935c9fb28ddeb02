#include "chainwatch/service/shutdown.hpp"

#include "chainwatch/base/assert.hpp"

#include <csignal>
#include <pthread.h>

namespace chainwatch::service {

namespace {

sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

} // namespace

shutdown_signal::shutdown_signal() {
  auto set = shutdown_set();
  CW_ASSERT(pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0);
  thread_ = std::thread([this] { run(); });
}

shutdown_signal::~shutdown_signal() {
  stopping_.store(true);
  // Wake sigwait with one of the signals it waits for, aimed at that thread only.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void shutdown_signal::run() {
  auto set = shutdown_set();
  int signo = 0;
  while (sigwait(&set, &signo) == 0) {
    if (stopping_.load()) return;
    request(signo);
  }
}

void shutdown_signal::request(int signo) {
  {
    std::lock_guard lock(mutex_);
    if (!requested_.load()) {
      signo_.store(signo);
      requested_.store(true, std::memory_order_release);
    }
  }
  cv_.notify_all();
}

void shutdown_signal::wait() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return requested(); });
}

bool shutdown_signal::wait_for(std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return requested(); });
}

} // namespace chainwatch::service
