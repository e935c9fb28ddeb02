#include "chainwatch/service/shutdown.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

using namespace chainwatch::service;
using namespace std::chrono_literals;

TEST(service_shutdown, sigterm_sets_flag_and_wakes_waiters) {
  shutdown_signal sig;
  EXPECT_FALSE(sig.requested());
  EXPECT_FALSE(sig.wait_for(10ms));
  std::thread waiter([&] { sig.wait(); });
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  waiter.join(); // returns only once the signal was handled
  EXPECT_TRUE(sig.requested());
  EXPECT_EQ(sig.signal_number(), SIGTERM);
}

TEST(service_shutdown, sigint_and_programmatic_request) {
  {
    shutdown_signal sig;
    ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
    EXPECT_TRUE(sig.wait_for(10s));
    EXPECT_EQ(sig.signal_number(), SIGINT);
  }
  shutdown_signal sig;
  std::thread t([&] { sig.request(); });
  EXPECT_TRUE(sig.wait_for(10s));
  EXPECT_EQ(sig.signal_number(), 0);
  t.join();
}
