// Watermarks per customer: min over active sources, lateness overrides, idle sources, EOF and
// its horizon; the skew guard.

#include <chainwatch/engine/watermarks.hpp>
#include <gtest/gtest.h>
#include <vector>

using namespace chainwatch::engine;

namespace {
constexpr std::int64_t s = 1'000'000'000;

std::optional<std::int64_t> wm(std::optional<watermark_update> u) {
  if (!u) return std::nullopt;
  return u->watermark_ns;
}
} // namespace

TEST(watermark_tracker, min_over_sources_minus_lateness_and_monotonic) {
  watermark_tracker t({.default_ns = 5 * s, .overrides = {{"slow", 20 * s}}}, 60 * s);
  t.observe("acme", "fast", 100 * s, 1);
  EXPECT_EQ(wm(t.advance("acme", 1)), 95 * s);
  t.observe("acme", "slow", 110 * s, 2);
  EXPECT_EQ(wm(t.advance("acme", 2)), std::nullopt); // min(95, 90) is behind 95: no regression
  EXPECT_EQ(t.watermark("acme"), 95 * s);
  t.observe("acme", "fast", 130 * s, 3);
  t.observe("acme", "slow", 120 * s, 3);
  auto u = t.advance("acme", 3);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->watermark_ns, 100 * s); // min(125, 100)
  EXPECT_FALSE(u->idle);
  EXPECT_EQ(u->horizon_ns, end_of_time) << "no horizon before the end of input";
  EXPECT_EQ(t.watermark("other"), no_watermark);
}

TEST(watermark_tracker, idle_sources_stop_holding_back_then_wall_clock_moves_it) {
  watermark_tracker t({.default_ns = 0, .overrides = {}}, 10 * s);
  t.observe("acme", "a", 100 * s, 0);
  t.observe("acme", "b", 50 * s, 8 * s);
  EXPECT_EQ(wm(t.advance("acme", 8 * s)), 50 * s);
  // a idle at 10 s: only b counts (its max is 50 s).
  EXPECT_EQ(wm(t.advance("acme", 11 * s)), std::nullopt);
  t.observe("acme", "b", 60 * s, 12 * s);
  auto by_b = t.advance("acme", 12 * s);
  ASSERT_TRUE(by_b);
  EXPECT_EQ(by_b->watermark_ns, 60 * s);
  EXPECT_FALSE(by_b->idle) << "b's events moved it";
  // Both idle from 22 s: highest source watermark (100 s) + wall time since the last event.
  auto idle = t.advance("acme", 25 * s);
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->watermark_ns, 113 * s);
  EXPECT_TRUE(idle->idle) << "the wall clock moved it";
  EXPECT_EQ(wm(t.advance("acme", 26 * s)), 114 * s);
  auto ticked = t.tick(27 * s);
  ASSERT_EQ(ticked.size(), 1u);
  EXPECT_EQ(ticked[0].second.watermark_ns, 115 * s);
  EXPECT_TRUE(ticked[0].second.idle);
}

TEST(watermark_tracker, eof_of_every_source_closes_everything_up_to_the_latest_event) {
  watermark_tracker t({.default_ns = 5 * s, .overrides = {{"acme/b", 1 * s}}}, 60 * s);
  t.observe("acme", "a", 100 * s, 0);
  t.observe("acme", "b", 50 * s, 0);
  EXPECT_EQ(wm(t.advance("acme", 0)), 49 * s);
  t.eof("acme", "b", 1);
  EXPECT_EQ(wm(t.advance("acme", 1)), 95 * s); // b no longer holds it back
  t.eof("acme", "a", 2);
  auto end = t.advance("acme", 2);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->watermark_ns, end_of_time);
  EXPECT_EQ(end->horizon_ns, 100 * s) << "input is complete up to the latest event, no further";
  EXPECT_FALSE(end->idle);
  // A second replay after the end of input is a new run, not late: even with older events.
  t.observe("acme", "a", 10 * s, 3);
  EXPECT_EQ(t.watermark("acme"), no_watermark);
  EXPECT_EQ(wm(t.advance("acme", 3)), 5 * s); // b stays at EOF
  t.eof("acme", "a", 4);
  auto again = t.advance("acme", 4);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->watermark_ns, end_of_time);
  EXPECT_EQ(again->horizon_ns, 10 * s) << "the new run's latest event";
}

TEST(watermark_tracker, parses_overrides) {
  auto o = parse_overrides("zeek.conn=10s, acme/ecs=250ms");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("zeek.conn"), 10 * s);
  EXPECT_EQ(o->at("acme/ecs"), 250'000'000);
  std::string err;
  EXPECT_FALSE(parse_overrides("novalue", &err));
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(parse_overrides("a=5x", &err));
  source_durations p{.default_ns = 5, .overrides = *o};
  EXPECT_EQ(p.of("acme", "ecs"), 250'000'000);
  EXPECT_EQ(p.of("beta", "ecs"), 5);
  EXPECT_EQ(p.of("beta", "zeek.conn"), 10 * s);
}

TEST(skew_guard, ahead_of_the_reference_by_more_than_max_future) {
  EXPECT_FALSE(skewed(100 * s, 100 * s, 5 * s));
  EXPECT_FALSE(skewed(105 * s, 100 * s, 5 * s)) << "exactly max_future ahead is allowed";
  EXPECT_TRUE(skewed(105 * s + 1, 100 * s, 5 * s));
  EXPECT_FALSE(skewed(0, 100 * s, 5 * s)) << "behind is lateness's business, not skew's";
  EXPECT_TRUE(skewed(end_of_time - 1, -100 * s, 5 * s)) << "no overflow";
  EXPECT_FALSE(skewed(100 * s, no_watermark, 5 * s)) << "no reference, no judgement";
}

TEST(skew_guard, among_neighbours_a_lone_bad_clock_is_skewed_a_jump_is_not) {
  const std::int64_t mf = 300 * s;
  std::vector<std::int64_t> normal{100 * s, 101 * s, 102 * s, 103 * s};
  const std::int64_t y2099 = 4'070'908'800 * s;
  // In the middle, first and last of a stream.
  EXPECT_TRUE(skewed_among(normal, y2099, normal, mf));
  EXPECT_TRUE(skewed_among({}, y2099, normal, mf)) << "the first event, by those after it";
  EXPECT_FALSE(skewed_among(normal, y2099, {}, mf)) << "the last event holds nothing back";
  EXPECT_FALSE(skewed_among({}, y2099, {}, mf)) << "a lone event has no neighbours";
  // A real jump in time (a gap in the data): the events after it agree with it.
  std::vector<std::int64_t> later{y2099 + 1 * s, y2099 + 2 * s, y2099 + 3 * s};
  EXPECT_FALSE(skewed_among(normal, y2099, later, mf));
  // An ordered stream with hours between events never trips it.
  std::vector<std::int64_t> hourly{0, 3600 * s, 7200 * s, 10800 * s, 14400 * s};
  for (std::size_t i = 0; i < hourly.size(); ++i) {
    std::span<const std::int64_t> all(hourly);
    EXPECT_FALSE(skewed_among(all.subspan(0, i), hourly[i], all.subspan(i + 1), mf)) << i;
  }
  // Two bad events in a row among eight good ones after them are still caught.
  std::vector<std::int64_t> after_two{y2099, 104 * s, 105 * s, 106 * s, 107 * s};
  EXPECT_TRUE(skewed_among(normal, y2099, after_two, mf));
}
