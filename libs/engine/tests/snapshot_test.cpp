// engine::snapshot / restore: stopping anywhere, restoring into a new engine and going on gives
// exactly the matches of an uninterrupted run (the matcher's checkpoints rely on it).

#include <chainwatch/engine/engine.hpp>
#include <gtest/gtest.h>
#include <random>

namespace cw = chainwatch;
namespace eng = chainwatch::engine;

namespace {

constexpr std::int64_t sec = 1'000'000'000;

cw::event::event_ptr make(const std::string& json) {
  cw::event::json_decoder dec;
  auto ev = dec.decode(json);
  EXPECT_TRUE(ev.has_value()) << json;
  return std::make_shared<const cw::event::event>(std::move(*ev));
}

std::shared_ptr<const eng::ruleset> compile(const std::vector<std::string>& queries) {
  std::vector<eng::rule_source> src;
  for (std::size_t i = 0; i < queries.size(); ++i)
    src.push_back({"r" + std::to_string(i), "rule " + std::to_string(i), queries[i]});
  eng::options opts;
  opts.max_pending_per_key = 4; // overflow is part of the state too
  auto rs = eng::ruleset::compile(std::move(src), opts);
  EXPECT_TRUE(rs.has_value()) << (rs ? "" : rs.error().err.message);
  return rs ? *rs : nullptr;
}

/// Every shape the engine keeps state for, and enough rules on one key (12 > 8) that keys
/// switch to the per-rule table.
std::vector<std::string> queries() {
  std::vector<std::string> q = {
      R"(sequence by user.name with maxspan=30s [authentication where event.outcome == "failure"] with runs=3 [authentication where event.outcome == "success"])",
      R"(sequence by user.name with maxspan=20s [authentication where true] [process where true] until [network where true])",
      R"(sequence by user.name with maxspan=15s [authentication where event.outcome == "success"] ![process where true] [network where true])",
      R"(sequence by user.name with maxspan=10s [process where true] [network where true] ![authentication where true])",
      R"(join by user.name [process where true] [network where true])",
      R"(authentication where event.outcome == "success")",
  };
  for (int i = 0; i < 8; ++i)
    q.push_back("sequence by user.name with maxspan=" + std::to_string(5 + i) +
                "s [network where true] [process where true]");
  return q;
}

struct item {
  std::int64_t ts;
  cw::event::event_ptr ev;
};

std::vector<item> stream(unsigned seed, int n) {
  std::mt19937 rng(seed);
  const char* cats[] = {"authentication", "process", "network"};
  const char* outcomes[] = {"failure", "success"};
  std::vector<item> out;
  for (int i = 0; i < n; ++i) {
    std::int64_t ts = (i + 1) * sec / 2;
    std::string json = R"({"id":)" + std::to_string(i) + R"(,"event":{"category":")" +
                       cats[rng() % 3] + R"(","outcome":")" + outcomes[rng() % 2] +
                       R"("},"user":{"name":"u)" + std::to_string(rng() % 5) + R"("}})";
    out.push_back({ts, make(json)});
  }
  // Out of order within 3 s; the watermark trails by 5 s.
  for (std::size_t i = 0; i + 1 < out.size(); i += 2)
    if (rng() % 2) std::swap(out[i], out[i + 1]);
  return out;
}

std::string describe(const eng::match& m) {
  std::string s = std::to_string(m.rule) + ":" + m.key + ":";
  cw::event::field_path id("id");
  for (const auto& e : m.events)
    s += std::to_string(e ? e->get(id).as_int() : -1) + ",";
  return s;
}

/// Feeds items [from, to) with a watermark 5 s behind the newest event after each.
void feed(eng::engine& e, const std::vector<item>& items, std::size_t from, std::size_t to,
          std::int64_t& max_ts) {
  for (std::size_t i = from; i < to; ++i) {
    e.push(items[i].ev, items[i].ts);
    max_ts = std::max(max_ts, items[i].ts);
    if (i % 3 == 0) e.advance(max_ts - 5 * sec);
  }
}

} // namespace

TEST(engine_snapshot, restore_anywhere_gives_the_uninterrupted_matches) {
  auto rs = compile(queries());
  ASSERT_TRUE(rs);
  auto items = stream(7, 600);
  std::vector<std::string> want;
  {
    eng::engine e(rs, [&](eng::match&& m) { want.push_back(describe(m)); });
    std::int64_t max_ts = INT64_MIN;
    feed(e, items, 0, items.size(), max_ts);
    e.finish();
  }
  ASSERT_GT(want.size(), 50u);
  for (std::size_t cut : {0ul, 1ul, 97ul, 250ul, 431ul, 599ul, 600ul}) {
    std::vector<std::string> got;
    auto sink = [&](eng::match&& m) { got.push_back(describe(m)); };
    std::string bytes;
    std::int64_t max_ts = INT64_MIN;
    {
      eng::engine a(rs, sink);
      feed(a, items, 0, cut, max_ts);
      a.snapshot(bytes);
      // The snapshot of a restored engine is the same bytes.
      eng::engine copy(rs, sink);
      std::string err;
      ASSERT_TRUE(copy.restore(bytes, &err)) << err;
      std::string again;
      copy.snapshot(again);
      EXPECT_EQ(again, bytes) << "cut " << cut;
    }
    eng::engine b(rs, sink);
    std::string err;
    ASSERT_TRUE(b.restore(bytes, &err)) << err;
    feed(b, items, cut, items.size(), max_ts);
    b.finish();
    EXPECT_EQ(got, want) << "cut after " << cut << " events, snapshot " << bytes.size() << " B";
  }
}

TEST(engine_snapshot, corrupt_or_foreign_snapshots_are_refused_and_change_nothing) {
  auto rs = compile(queries());
  ASSERT_TRUE(rs);
  auto items = stream(3, 200);
  eng::engine a(rs, [](eng::match&&) {});
  std::int64_t max_ts = INT64_MIN;
  feed(a, items, 0, items.size(), max_ts);
  std::string bytes;
  a.snapshot(bytes);
  ASSERT_GT(a.stats().live_keys, 0u);

  eng::engine b(rs, [](eng::match&&) {});
  b.push(items[0].ev, items[0].ts);
  auto before = b.stats().events;
  std::string err;
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(b.restore(bad, &err)) << "flipped byte " << i;
    EXPECT_FALSE(err.empty());
  }
  for (std::size_t n = 0; n < bytes.size(); n += 13)
    EXPECT_FALSE(b.restore(std::string_view(bytes).substr(0, n), &err)) << "truncated " << n;
  EXPECT_EQ(b.stats().events, before);

  auto other = compile({R"(sequence by user.name [process where true] [network where true])"});
  eng::engine c(other, [](eng::match&&) {});
  EXPECT_FALSE(c.restore(bytes, &err));
  EXPECT_NE(err.find("other rules"), std::string::npos) << err;
}
