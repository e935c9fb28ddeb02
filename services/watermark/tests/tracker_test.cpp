// Watermarks per customer: min over active sources, lateness overrides, idle sources, EOF.

#include "watermark_tracker.hpp"

#include <gtest/gtest.h>

using namespace chainwatch::watermark;

namespace {
constexpr std::int64_t s = 1'000'000'000;
} // namespace

TEST(watermark_tracker, min_over_sources_minus_lateness_and_monotonic) {
  watermark_tracker t({.default_ns = 5 * s, .overrides = {{"slow", 20 * s}}}, 60 * s);
  t.observe("acme", "fast", 100 * s, 1);
  EXPECT_EQ(t.advance("acme", 1), 95 * s);
  t.observe("acme", "slow", 110 * s, 2);
  EXPECT_EQ(t.advance("acme", 2), std::nullopt); // min(95, 90) is behind 95: no regression
  EXPECT_EQ(t.watermark("acme"), 95 * s);
  t.observe("acme", "fast", 130 * s, 3);
  t.observe("acme", "slow", 120 * s, 3);
  EXPECT_EQ(t.advance("acme", 3), 100 * s); // min(125, 100)
  EXPECT_EQ(t.watermark("other"), no_watermark);
}

TEST(watermark_tracker, idle_sources_stop_holding_back_then_wall_clock_moves_it) {
  watermark_tracker t({.default_ns = 0, .overrides = {}}, 10 * s);
  t.observe("acme", "a", 100 * s, 0);
  t.observe("acme", "b", 50 * s, 8 * s);
  EXPECT_EQ(t.advance("acme", 8 * s), 50 * s);
  // a idle at 10 s: only b counts (its max is 50 s).
  EXPECT_EQ(t.advance("acme", 11 * s), std::nullopt);
  t.observe("acme", "b", 60 * s, 12 * s);
  EXPECT_EQ(t.advance("acme", 12 * s), 60 * s);
  // Both idle from 22 s: highest source watermark (100 s) + wall time since the last event.
  EXPECT_EQ(t.advance("acme", 25 * s), 113 * s);
  EXPECT_EQ(t.advance("acme", 26 * s), 114 * s);
  auto ticked = t.tick(27 * s);
  ASSERT_EQ(ticked.size(), 1u);
  EXPECT_EQ(ticked[0].second, 115 * s);
}

TEST(watermark_tracker, eof_of_every_source_closes_everything) {
  watermark_tracker t({.default_ns = 5 * s, .overrides = {{"acme/b", 1 * s}}}, 60 * s);
  t.observe("acme", "a", 100 * s, 0);
  t.observe("acme", "b", 50 * s, 0);
  EXPECT_EQ(t.advance("acme", 0), 49 * s);
  t.eof("acme", "b", 1);
  EXPECT_EQ(t.advance("acme", 1), 95 * s); // b no longer holds it back
  t.eof("acme", "a", 2);
  EXPECT_EQ(t.advance("acme", 2), end_of_time);
  // A second replay after the end of input is a new run, not late: even with older events.
  t.observe("acme", "a", 10 * s, 3);
  EXPECT_EQ(t.watermark("acme"), no_watermark);
  EXPECT_EQ(t.advance("acme", 3), 5 * s); // b stays at EOF
  t.eof("acme", "a", 4);
  EXPECT_EQ(t.advance("acme", 4), end_of_time);
}

TEST(watermark_tracker, snapshot_restores_sources_and_watermarks) {
  watermark_tracker t({.default_ns = 5 * s, .overrides = {}}, 60 * s);
  t.observe("acme", "a", 100 * s, 7);
  t.observe("acme", "b", 50 * s, 8);
  t.eof("acme", "b", 9);
  ASSERT_EQ(t.advance("acme", 10), 95 * s);
  auto snap = t.snapshot();
  watermark_tracker u({.default_ns = 5 * s, .overrides = {}}, 60 * s);
  ASSERT_TRUE(u.restore(snap));
  EXPECT_EQ(u.snapshot(), snap);
  EXPECT_EQ(u.watermark("acme"), 95 * s);
  EXPECT_FALSE(u.advance("acme", 10).has_value()) << "nothing new";
  u.eof("acme", "a", 11);
  EXPECT_EQ(u.advance("acme", 11), end_of_time) << "b's end of input survived the restore";
  EXPECT_FALSE(u.restore(snap.substr(0, snap.size() - 1))) << "truncated";
  EXPECT_FALSE(u.restore("v1\ns acme a 1 1 2 0\n")) << "the old text format";
  EXPECT_FALSE(u.restore("garbage"));
  EXPECT_EQ(u.watermark("acme"), end_of_time) << "a failed restore changes nothing";
}

TEST(watermark_tracker, parses_durations_and_overrides) {
  EXPECT_EQ(parse_duration("250ms"), 250'000'000);
  EXPECT_EQ(parse_duration("1.5s"), 1'500'000'000);
  EXPECT_EQ(parse_duration("2"), 2 * s);
  EXPECT_EQ(parse_duration("1m"), 60 * s);
  EXPECT_EQ(parse_duration("x"), std::nullopt);
  auto o = parse_overrides("zeek.conn=10s, acme/ecs=250ms");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("zeek.conn"), 10 * s);
  EXPECT_EQ(o->at("acme/ecs"), 250'000'000);
  std::string err;
  EXPECT_FALSE(parse_overrides("novalue", &err));
  EXPECT_FALSE(err.empty());
  lateness_policy p{.default_ns = 5, .overrides = *o};
  EXPECT_EQ(p.of("acme", "ecs"), 250'000'000);
  EXPECT_EQ(p.of("beta", "ecs"), 5);
  EXPECT_EQ(p.of("beta", "zeek.conn"), 10 * s);
}
