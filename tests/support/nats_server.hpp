#pragma once

// A real nats-server (JetStream on) for tests: own loopback port, own temporary store, stopped
// and cleaned up on destruction; restartable on the same port and store for crash tests.

#include "chainwatch/base/expected.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <variant>

namespace chainwatch::test_support {

/// A nats-server child process.
class nats_server {
public:
  /// Path of the nats-server binary ($NATS_SERVER, else PATH, else /usr/sbin); empty if absent.
  static std::string binary();
  /// Starts a server on a free 127.0.0.1 port with a fresh store dir and waits until it accepts
  /// connections.
  static expected<std::unique_ptr<nats_server>, std::string> start();

  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;
  /// Stops the server and removes the store dir.
  ~nats_server();

  /// Stops gracefully (SIGTERM, then SIGKILL after 10 s) and reaps it.
  void stop();
  /// Kills it abruptly (SIGKILL), as a crash.
  void kill();
  /// Freezes it (SIGSTOP): connections stay open, nothing is answered (a stalled server).
  void pause();
  /// Lets a paused server go on (SIGCONT).
  void resume();
  /// Starts it again on the same port and store; waits until it accepts connections.
  expected<std::monostate, std::string> restart();

  /// True while the process runs.
  bool running() const noexcept { return pid_ > 0; }
  /// The client port.
  std::uint16_t port() const noexcept { return port_; }
  /// "nats://127.0.0.1:<port>".
  std::string url() const;
  /// The JetStream store directory (also holds the server log, server.log).
  const std::string& dir() const noexcept { return dir_; }
  /// The server log so far (for failure messages).
  std::string log() const;

private:
  nats_server() = default;
  expected<std::monostate, std::string> launch();
  void terminate(int signo);

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// A port that was free a moment ago (bound to 127.0.0.1:0 and released).
std::uint16_t free_port();

} // namespace chainwatch::test_support

/// Skips the current test when nats-server is not installed.
#define CW_REQUIRE_NATS_SERVER()                                                                   \
  do {                                                                                             \
    if (::chainwatch::test_support::nats_server::binary().empty())                                 \
      GTEST_SKIP() << "nats-server not installed";                                                 \
  } while (false)
