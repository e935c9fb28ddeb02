// Aggregate rules (engine::aggregate): counts in a sliding event-time window with distinct
// counts (Elastic threshold), first appearance within a history (new_terms) and alert
// suppression; their state is keyed, expires with the watermark and survives snapshots, and the
// mesh's per-key path gives what one engine gives.

#include <chainwatch/engine/engine.hpp>
#include <gtest/gtest.h>
#include <random>

namespace cw = chainwatch;
namespace eng = chainwatch::engine;

namespace {

constexpr std::int64_t sec = 1'000'000'000;
constexpr std::int64_t minute = 60 * sec;

cw::event::event_ptr make(const std::string& json) {
  cw::event::json_decoder dec;
  auto ev = dec.decode(json);
  EXPECT_TRUE(ev.has_value()) << json;
  return std::make_shared<const cw::event::event>(std::move(*ev));
}

/// A failed or successful logon of `user` from `ip` (no source.ip when `ip` is empty).
cw::event::event_ptr logon(int id, const std::string& ip, const std::string& user,
                           const std::string& outcome = "failure") {
  std::string src = ip.empty() ? "" : R"(,"source":{"ip":")" + ip + R"("})";
  return make(R"({"id":)" + std::to_string(id) +
              R"(,"event":{"category":"authentication","outcome":")" + outcome +
              R"("},"user":{"name":")" + user + R"("})" + src + "}");
}

eng::rule_source rule(eng::aggregate a,
                      std::string query = R"(authentication where event.outcome == "failure")") {
  eng::rule_source r{"agg", "agg", std::move(query), "eql", std::move(a), {}};
  return r;
}

eng::aggregate count(std::vector<std::string> by, std::uint32_t n, std::int64_t window,
                     std::string distinct = {}, std::uint32_t min_distinct = 0) {
  eng::aggregate a;
  a.kind = eng::aggregate::type::count;
  a.by = std::move(by);
  a.min_count = n;
  a.window_ns = window;
  a.distinct_field = std::move(distinct);
  a.min_distinct = min_distinct;
  return a;
}

std::shared_ptr<const eng::ruleset> compile(std::vector<eng::rule_source> rules,
                                            eng::options opts = {}) {
  auto rs = eng::ruleset::compile(std::move(rules), opts);
  EXPECT_TRUE(rs.has_value()) << (rs ? "" : rs.error().err.message);
  return rs ? *rs : nullptr;
}

/// A match as "key:id,id,...".
std::string describe(const eng::match& m) {
  std::string s = m.key + ":";
  cw::event::field_path id("id");
  for (std::size_t i = 0; i < m.events.size(); ++i)
    s += (i ? "," : "") + std::to_string(m.events[i]->get(id).as_int());
  return s;
}

struct item {
  std::int64_t ts;
  cw::event::event_ptr ev;
};

/// Runs items in one engine (watermark at each event's time) and returns the matches.
std::vector<std::string> run(const std::shared_ptr<const eng::ruleset>& rs,
                             const std::vector<item>& items, eng::engine_stats* stats = nullptr) {
  std::vector<std::string> out;
  eng::engine e(rs, [&](eng::match&& m) { out.push_back(describe(m)); });
  for (const auto& it : items) {
    e.push(it.ev, it.ts);
    e.advance(it.ts);
  }
  e.finish();
  if (stats) *stats = e.stats();
  return out;
}

} // namespace

TEST(aggregate, a_count_alerts_when_a_group_reaches_it_within_the_window) {
  auto rs = compile({rule(count({"source.ip"}, 3, 5 * minute))});
  std::vector<item> items = {
      {0 * minute, logon(1, "10.0.0.1", "a")},
      {1 * minute, logon(2, "10.0.0.2", "a")}, // another group
      {2 * minute, logon(3, "10.0.0.1", "b")},
      {4 * minute, logon(4, "10.0.0.1", "c", "success")}, // not matching the query
      {4 * minute, logon(5, "10.0.0.1", "c")},            // third in 5 minutes: alert
      {5 * minute, logon(6, "10.0.0.2", "a")},
      {7 * minute, logon(7, "10.0.0.2", "a")}, // 6 minutes after id 2: it left the window
  };
  EXPECT_EQ(run(rs, items), std::vector<std::string>{R"(["10.0.0.1"]:1,3,5)"});
}

TEST(aggregate, the_events_counted_are_consumed_so_each_alert_has_its_own_evidence) {
  auto rs = compile({rule(count({"source.ip"}, 3, 10 * minute))});
  std::vector<item> items;
  for (int i = 0; i < 7; ++i)
    items.push_back({i * sec, logon(i, "10.0.0.1", "a")});
  EXPECT_EQ(run(rs, items),
            (std::vector<std::string>{R"(["10.0.0.1"]:0,1,2)", R"(["10.0.0.1"]:3,4,5)"}));
}

TEST(aggregate, a_distinct_count_is_a_password_spray_and_not_a_brute_force) {
  auto rs = compile({rule(count({"source.ip"}, 3, 10 * minute, "user.name", 3))});
  std::vector<item> items = {
      {1 * sec, logon(1, "10.0.0.1", "a")}, {2 * sec, logon(2, "10.0.0.1", "a")},
      {3 * sec, logon(3, "10.0.0.1", "a")}, {4 * sec, logon(4, "10.0.0.1", "A")}, // case folds
      {5 * sec, logon(5, "10.0.0.1", "b")}, {6 * sec, logon(6, "10.0.0.1", "c")},
  };
  EXPECT_EQ(run(rs, items), std::vector<std::string>{R"(["10.0.0.1"]:1,2,3,4,5,6)"});
}

TEST(aggregate, events_missing_a_group_field_are_not_counted) {
  auto rs = compile({rule(count({"source.ip"}, 2, 10 * minute))});
  std::vector<item> items = {{1 * sec, logon(1, "", "a")},
                             {2 * sec, logon(2, "", "a")},
                             {3 * sec, logon(3, "10.0.0.9", "a")}};
  EXPECT_TRUE(run(rs, items).empty());
  // Without group fields, every matching event is in one group.
  auto all = compile({rule(count({}, 3, 10 * minute))});
  EXPECT_EQ(run(all, items), std::vector<std::string>{"[]:1,2,3"});
}

TEST(aggregate, first_seen_alerts_on_a_new_term_and_again_after_the_history_window) {
  eng::aggregate a;
  a.kind = eng::aggregate::type::first_seen;
  a.by = {"user.name", "source.ip"};
  a.window_ns = 60 * minute;
  auto rs = compile({rule(a, R"(authentication where true)")});
  std::vector<item> items = {
      {0, logon(1, "10.0.0.1", "a")},
      {1 * minute, logon(2, "10.0.0.1", "a")},   // seen
      {2 * minute, logon(3, "10.0.0.2", "a")},   // new combination
      {61 * minute, logon(4, "10.0.0.1", "a")},  // last seen 60 minutes ago: still within
      {200 * minute, logon(5, "10.0.0.1", "a")}, // 139 minutes without it: new again
      {201 * minute, logon(6, "", "a")},         // no source.ip: no term
  };
  eng::engine_stats st;
  EXPECT_EQ(run(rs, items, &st),
            (std::vector<std::string>{R"(["a","10.0.0.1"]:1)", R"(["a","10.0.0.2"]:3)",
                                      R"(["a","10.0.0.1"]:5)"}));
  // The state of a term lives as long as its history window: after finish, nothing is held.
  EXPECT_EQ(st.live_keys, 0u);
}

TEST(aggregate, first_seen_state_expires_with_the_watermark) {
  eng::aggregate a;
  a.kind = eng::aggregate::type::first_seen;
  a.by = {"user.name"};
  a.window_ns = 10 * minute;
  auto rs = compile({rule(a, R"(authentication where true)")});
  eng::engine e(rs, [](eng::match&&) {});
  for (int i = 0; i < 100; ++i)
    e.push(logon(i, "10.0.0.1", "u" + std::to_string(i)), i * sec);
  e.advance(100 * sec);
  EXPECT_EQ(e.stats().live_keys, 100u);
  EXPECT_EQ(e.stats().pending_sequences, 100u) << "each term's last-seen time is state";
  e.advance(10 * minute + 50 * sec);
  EXPECT_EQ(e.stats().live_keys, 50u) << "those last seen before 50 s are gone";
  e.advance(20 * minute);
  EXPECT_EQ(e.stats().live_keys, 0u);
}

TEST(aggregate, suppression_holds_back_a_groups_alerts_for_its_duration_and_counts_them) {
  eng::aggregate a;
  a.by = {"user.name"};
  a.skip_missing = false;
  a.suppress_ns = 5 * minute;
  auto rs = compile({rule(a)});
  std::vector<item> items = {
      {0, logon(1, "10.0.0.1", "a")},          {1 * minute, logon(2, "10.0.0.1", "a")},
      {2 * minute, logon(3, "10.0.0.1", "b")}, {5 * minute, logon(4, "10.0.0.1", "a")},
      {6 * minute, logon(5, "10.0.0.1", "a")},
  };
  eng::engine_stats st;
  EXPECT_EQ(run(rs, items, &st),
            (std::vector<std::string>{R"(["a"]:1)", R"(["b"]:3)", R"(["a"]:4)"}));
  EXPECT_EQ(st.suppressed, 2u);
  EXPECT_EQ(st.matches, 3u);
}

TEST(aggregate, a_threshold_with_suppression_counts_on_but_alerts_once_per_duration) {
  auto a = count({"source.ip"}, 2, 10 * minute);
  a.suppress_ns = 30 * minute;
  auto rs = compile({rule(a)});
  std::vector<item> items;
  for (int i = 0; i < 6; ++i)
    items.push_back({i * minute, logon(i, "10.0.0.1", "a")});
  items.push_back({40 * minute, logon(6, "10.0.0.1", "a")});
  items.push_back({41 * minute, logon(7, "10.0.0.1", "a")});
  eng::engine_stats st;
  EXPECT_EQ(run(rs, items, &st),
            (std::vector<std::string>{R"(["10.0.0.1"]:0,1)", R"(["10.0.0.1"]:6,7)"}));
  EXPECT_EQ(st.suppressed, 2u);
}

TEST(aggregate, what_cannot_be_aggregated_is_refused_with_a_reason) {
  auto refused = [](eng::rule_source r) {
    auto rs = eng::ruleset::compile({std::move(r)}, {});
    return rs ? std::string() : rs.error().err.message;
  };
  EXPECT_NE(refused(rule(count({"user.name"}, 2, minute),
                         "sequence by user.name [authentication where true] [process where true]"))
                .find("event query"),
            std::string::npos);
  EXPECT_NE(refused(rule(count({"user.name"}, 2, minute), "authentication where true | head 1"))
                .find("pipes"),
            std::string::npos);
  EXPECT_NE(refused(rule(count({"user.name"}, 0, minute))).find("at least 1"), std::string::npos);
  eng::aggregate a;
  a.kind = eng::aggregate::type::first_seen;
  a.window_ns = minute;
  EXPECT_NE(refused(rule(a)).find("field"), std::string::npos);
  auto also = rule(count({"user.name"}, 2, minute));
  also.also = "inList(source.ip, ";
  EXPECT_NE(refused(also).find("the condition the rule type adds"), std::string::npos);
}

TEST(aggregate, also_adds_a_condition_to_the_query) {
  auto r = rule(eng::aggregate{});
  r.also = R"(source.ip == "10.0.0.1")";
  auto rs = compile({r});
  std::vector<item> items = {{1, logon(1, "10.0.0.1", "a")}, {2, logon(2, "10.0.0.2", "a")}};
  EXPECT_EQ(run(rs, items), std::vector<std::string>{"[]:1"});
}

namespace {

std::vector<eng::rule_source> every_aggregate() {
  eng::aggregate first;
  first.kind = eng::aggregate::type::first_seen;
  first.by = {"user.name"};
  first.window_ns = 20 * sec;
  eng::aggregate quiet;
  quiet.by = {"source.ip"};
  quiet.skip_missing = false;
  quiet.suppress_ns = 7 * sec;
  auto spray = count({"source.ip"}, 3, 30 * sec, "user.name", 2);
  spray.suppress_ns = 10 * sec;
  std::vector<eng::rule_source> rules = {
      rule(count({"source.ip"}, 4, 15 * sec)),
      rule(spray),
      rule(first, "authentication where true"),
      rule(quiet, R"(authentication where event.outcome == "success")"),
  };
  for (std::size_t i = 0; i < rules.size(); ++i)
    rules[i].id = "agg" + std::to_string(i);
  return rules;
}

std::vector<item> random_stream(unsigned seed, int n) {
  std::mt19937 rng(seed);
  std::vector<item> out;
  for (int i = 0; i < n; ++i)
    out.push_back({(i + 1) * sec / 2,
                   logon(i, rng() % 7 ? "10.0.0." + std::to_string(rng() % 3) : "",
                         "u" + std::to_string(rng() % 4), rng() % 4 ? "failure" : "success")});
  for (std::size_t i = 0; i + 1 < out.size(); i += 2) // out of order within 1 s
    if (rng() % 2) std::swap(out[i], out[i + 1]);
  return out;
}

/// One engine over the stream, the watermark 2 s behind, a snapshot and restore at `cut`.
std::vector<std::string> run_with_cut(const std::shared_ptr<const eng::ruleset>& rs,
                                      const std::vector<item>& items, std::size_t cut) {
  std::vector<std::string> out;
  auto sink = [&](eng::match&& m) { out.push_back(describe(m)); };
  auto e = std::make_unique<eng::engine>(rs, sink);
  std::int64_t max_ts = INT64_MIN;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i == cut) {
      std::string bytes;
      e->snapshot(bytes);
      e = std::make_unique<eng::engine>(rs, sink);
      std::string err;
      EXPECT_TRUE(e->restore(bytes, &err)) << err;
    }
    e->push(items[i].ev, items[i].ts);
    max_ts = std::max(max_ts, items[i].ts);
    e->advance(max_ts - 2 * sec);
  }
  e->finish();
  return out;
}

} // namespace

TEST(aggregate, snapshots_anywhere_give_the_uninterrupted_alerts) {
  auto rs = compile(every_aggregate());
  auto items = random_stream(11, 500);
  auto want = run_with_cut(rs, items, items.size());
  ASSERT_GT(want.size(), 40u);
  for (std::size_t cut : {0ul, 1ul, 123ul, 250ul, 499ul})
    EXPECT_EQ(run_with_cut(rs, items, cut), want) << "cut at " << cut;
}

TEST(aggregate, the_mesh_path_per_key_gives_what_one_engine_gives) {
  auto rs = compile(every_aggregate());
  auto items = random_stream(5, 400);
  std::vector<std::string> want;
  {
    eng::engine e(rs, [&](eng::match&& m) { want.push_back(describe(m)); });
    for (const auto& it : items)
      e.push(it.ev, it.ts);
    e.finish();
  }
  ASSERT_GT(want.size(), 30u);
  // As the mesh: one router, each key's items to the engine of its partition (3 of them).
  std::vector<std::string> got;
  std::vector<std::unique_ptr<eng::engine>> parts;
  for (int p = 0; p < 3; ++p)
    parts.push_back(
        std::make_unique<eng::engine>(rs, [&](eng::match&& m) { got.push_back(describe(m)); }));
  eng::router rt(rs);
  for (const auto& it : items) {
    rt.route(*it.ev);
    for (const auto& entry : rt.entries())
      EXPECT_EQ(parts[entry.hash % 3]->push_hits(it.ev, it.ts, entry.key, entry.hits),
                eng::push_result::accepted);
  }
  for (auto& p : parts)
    p->finish();
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}
