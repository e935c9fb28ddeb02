#include <algorithm>
#include <chainwatch/engine/engine.hpp>
#include <chainwatch/eql/lists.hpp>
#include <gtest/gtest.h>
#include <random>

namespace cw = chainwatch;
namespace eng = chainwatch::engine;
namespace eql = chainwatch::eql;

namespace {

constexpr std::int64_t sec = 1'000'000'000;

cw::event::event_ptr make(const std::string& json) {
  cw::event::json_decoder dec;
  auto ev = dec.decode(json);
  EXPECT_TRUE(ev.has_value()) << json;
  return std::make_shared<const cw::event::event>(std::move(*ev));
}

/// An authentication-like event with an id for checking results.
cw::event::event_ptr ev(int id, const std::string& cat, const std::string& action,
                        const std::string& user = "bob") {
  return make(R"({"id":)" + std::to_string(id) + R"(,"event":{"category":")" + cat +
              R"(","action":")" + action + R"("},"user":{"name":")" + user + R"("}})");
}

std::shared_ptr<const eng::ruleset> compile(std::vector<std::string> queries,
                                            eng::options opts = {}) {
  std::vector<eng::rule_source> src;
  for (std::size_t i = 0; i < queries.size(); ++i)
    src.push_back({"r" + std::to_string(i), "rule " + std::to_string(i), queries[i]});
  auto rs = eng::ruleset::compile(std::move(src), opts);
  EXPECT_TRUE(rs.has_value()) << (rs ? "" : rs.error().err.message);
  return rs ? *rs : nullptr;
}

/// Collects matches as "rule:key:id,id,..".
struct collector {
  std::vector<std::string> out;
  std::function<void(eng::match&&)> sink() {
    return [this](eng::match&& m) {
      std::string s = std::to_string(m.rule) + ":" + m.key + ":";
      cw::event::field_path id("id");
      for (std::size_t i = 0; i < m.events.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(m.events[i]->get(id).as_int());
      }
      out.push_back(std::move(s));
    };
  }
};

struct timed {
  cw::event::event_ptr e;
  std::int64_t ts;
};

} // namespace

TEST(engine, event_query_emits_single_event_matches) {
  auto rs = compile({R"(authentication where event.action == "fail")"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "fail"), 1);
  e.push(ev(2, "authentication", "ok"), 2);
  e.push(ev(3, "process", "fail"), 3);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{"0:[]:1"});
}

TEST(engine, category_array_and_any) {
  auto rs = compile({R"(iam where event.action == "x")", R"(any where event.action == "x")"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(make(R"({"id":1,"event":{"category":["authentication","iam"],"action":"x"}})"), 1);
  e.finish();
  EXPECT_EQ(c.out, (std::vector<std::string>{"0:[]:1", "1:[]:1"}));
}

TEST(engine, sequence_by_key_json_text_and_case_folding) {
  auto rs = compile({R"(sequence by user.name [authentication where event.action == "fail"]
                         [authentication where event.action == "ok"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "fail", "Bob"), 1 * sec);
  e.push(ev(2, "authentication", "ok", "alice"), 2 * sec);
  e.push(ev(3, "authentication", "OK", "bob"), 3 * sec);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:1,3)"});
}

TEST(engine, case_sensitive_keys_do_not_fold) {
  eng::options opts;
  opts.case_sensitive = true;
  auto rs = compile({R"(sequence by user.name [authentication where event.action == "fail"]
                         [authentication where event.action == "ok"])"},
                    opts);
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "fail", "Bob"), 1);
  e.push(ev(2, "authentication", "ok", "bob"), 2);
  e.push(ev(3, "authentication", "ok", "Bob"), 3);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["Bob"]:1,3)"});
}

TEST(engine, time_order_is_independent_of_arrival_order) {
  auto rs = compile({R"(sequence by user.name [authentication where event.action == "a"]
                         [authentication where event.action == "b"]
                         [authentication where event.action == "c"])",
                     R"(sequence by user.name with maxspan=5s
                         [authentication where event.action == "a"]
                         [authentication where event.action == "c"])"});
  std::vector<timed> events;
  const char* actions[] = {"a", "b", "c"};
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string user = "u" + std::to_string(rng() % 5);
    events.push_back({ev(i, "authentication", actions[rng() % 3], user), i * sec});
  }
  auto run = [&](const std::vector<timed>& in) {
    collector c;
    eng::engine e(rs, c.sink());
    for (auto& t : in)
      EXPECT_EQ(e.push(t.e, t.ts), eng::push_result::accepted);
    e.finish();
    std::sort(c.out.begin(), c.out.end());
    return c.out;
  };
  auto ordered = run(events);
  ASSERT_FALSE(ordered.empty());
  auto shuffled = events;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  EXPECT_EQ(run(shuffled), ordered);
}

TEST(engine, late_events_are_counted_and_skipped) {
  auto rs = compile({R"(authentication where true)"});
  collector c;
  eng::engine e(rs, c.sink());
  e.advance(100);
  EXPECT_EQ(e.push(ev(1, "authentication", "x"), 50), eng::push_result::late);
  EXPECT_EQ(e.push(ev(2, "authentication", "x"), 100), eng::push_result::accepted);
  e.finish();
  EXPECT_EQ(e.stats().late, 1u);
  EXPECT_EQ(e.stats().events, 2u);
  EXPECT_EQ(c.out, std::vector<std::string>{"0:[]:2"});
}

TEST(engine, maxspan_expires_at_watermark_and_state_is_dropped) {
  auto rs = compile({R"(sequence by user.name with maxspan=10s
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a"), 0);
  e.advance(5 * sec);
  EXPECT_EQ(e.stats().pending_sequences, 1u);
  EXPECT_EQ(e.stats().live_keys, 1u);
  EXPECT_GT(e.stats().state_bytes, 0u);
  e.advance(10 * sec); // an event at exactly first + maxspan may still complete it
  EXPECT_EQ(e.stats().pending_sequences, 1u);
  e.advance(10 * sec + 1);
  EXPECT_EQ(e.stats().pending_sequences, 0u);
  EXPECT_EQ(e.stats().live_keys, 0u);
  e.push(ev(2, "authentication", "b"), 11 * sec);
  e.finish();
  EXPECT_TRUE(c.out.empty());
}

TEST(engine, maxspan_boundary_completes) {
  auto rs = compile({R"(sequence by user.name with maxspan=10s
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a"), 0);
  e.advance(10 * sec);
  e.push(ev(2, "authentication", "b"), 10 * sec);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:1,2)"});
}

TEST(engine, missing_step_between_steps) {
  auto rs = compile({R"(sequence by user.name
                         [authentication where event.action == "a"]
                         ![authentication where event.action == "x"]
                         [authentication where event.action == "c"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a", "u1"), 1);
  e.push(ev(2, "authentication", "x", "u1"), 2);
  e.push(ev(3, "authentication", "c", "u1"), 3);
  e.push(ev(4, "authentication", "a", "u2"), 4);
  e.push(ev(5, "authentication", "x", "u1"), 5); // other key: no effect on u2
  e.push(ev(6, "authentication", "c", "u2"), 6);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["u2"]:4,6)"});
}

TEST(engine, trailing_missing_step_is_decided_at_watermark) {
  auto rs = compile({R"(sequence by user.name with maxspan=10s
                         [authentication where event.action == "a"]
                         ![authentication where event.action == "x"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a", "u1"), 0);
  e.push(ev(2, "authentication", "a", "u2"), 0);
  e.push(ev(3, "authentication", "x", "u2"), 3 * sec);
  e.advance(10 * sec);
  EXPECT_TRUE(c.out.empty()); // never early
  e.advance(10 * sec + 1);
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["u1"]:1)"});
  EXPECT_EQ(e.stats().live_keys, 0u);
}

// At the end of input, an absence whose window reaches past the horizon (the latest event
// time) is undecided: handed over marked so, not a match, not counted as one.
TEST(engine, an_absence_open_at_the_horizon_is_undecided) {
  auto rs = compile({R"(sequence by user.name with maxspan=10s
                         [authentication where event.action == "a"]
                         ![authentication where event.action == "x"])"});
  std::vector<std::pair<std::string, bool>> out;
  eng::engine e(rs, [&](eng::match&& m) {
    out.emplace_back(m.key, m.undecided);
    EXPECT_TRUE(m.absence);
  });
  e.push(ev(1, "authentication", "a", "u1"), 0);       // window to 10 s: closed by the horizon
  e.push(ev(2, "authentication", "a", "u2"), 8 * sec); // window to 18 s: still open at 12 s
  e.push(ev(3, "authentication", "b", "u3"), 12 * sec);
  e.finish(12 * sec);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out,
            (std::vector<std::pair<std::string, bool>>{{R"(["u1"])", false}, {R"(["u2"])", true}}));
  EXPECT_EQ(e.stats().matches, 1u);
  EXPECT_EQ(e.stats().undecided, 1u);
}

TEST(engine, trailing_missing_step_requires_maxspan) {
  std::vector<eng::rule_source> src{{"r", "r", R"(sequence by user.name
      [authentication where true] ![authentication where true])"}};
  auto rs = eng::ruleset::compile(src, {});
  ASSERT_FALSE(rs.has_value());
  EXPECT_EQ(rs.error().rule_index, 0u);
}

TEST(engine, runs_repeat_a_step) {
  auto rs = compile({R"(sequence by user.name
                         [authentication where event.action == "fail"] with runs=3
                         [authentication where event.action == "ok"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "fail"), 1);
  e.push(ev(2, "authentication", "fail"), 2);
  e.push(ev(3, "authentication", "ok"), 3); // only two failures before
  e.push(ev(4, "authentication", "fail"), 4);
  e.push(ev(5, "authentication", "fail"), 5);
  e.push(ev(6, "authentication", "fail"), 6);
  e.push(ev(7, "authentication", "ok"), 7);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:4,5,6,7)"});
}

// One step repeated is a sequence too, as Elastic writes threshold-like brute force
// (`sequence by host.id, source.ip with maxspan=15s [authentication where ...] with runs=10`).
TEST(engine, a_single_step_with_runs_is_a_sequence) {
  auto rs = compile({R"(sequence by user.name with maxspan=15s
                         [authentication where event.action == "fail"] with runs=3)"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "fail"), 1 * sec);
  e.push(ev(2, "authentication", "fail"), 2 * sec);
  e.push(ev(3, "authentication", "fail"), 3 * sec);  // three within 15 s
  e.push(ev(4, "authentication", "fail"), 30 * sec); // a new run starts
  e.push(ev(5, "authentication", "fail"), 31 * sec);
  e.push(ev(6, "authentication", "fail"), 50 * sec); // 20 s after the run's first: expired
  e.push(ev(7, "authentication", "fail", "alice"), 50 * sec);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:1,2,3)"});
}

TEST(engine, until_clears_pending_partials) {
  auto rs = compile({R"(sequence by user.name
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"]
                       until [authentication where event.action == "logout"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a"), 1);
  e.push(ev(2, "authentication", "logout"), 2);
  e.push(ev(3, "authentication", "b"), 3);
  e.push(ev(4, "authentication", "a"), 4);
  e.push(ev(5, "authentication", "b"), 5);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:4,5)"});
}

TEST(engine, newest_partial_replaces_per_stage) {
  auto rs = compile({R"(sequence by user.name
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a"), 1);
  e.push(ev(2, "authentication", "a"), 2);
  e.push(ev(3, "authentication", "b"), 3);
  e.push(ev(4, "authentication", "b"), 4);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:2,3)"});
}

TEST(engine, pending_cap_drops_oldest_and_counts_overflow) {
  eng::options opts;
  opts.max_pending_per_key = 1;
  auto rs = compile({R"(sequence by user.name
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"]
                         [authentication where event.action == "c"])"},
                    opts);
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "a"), 1);
  e.push(ev(2, "authentication", "b"), 2); // partial [1,2]
  e.push(ev(3, "authentication", "a"), 3); // partial [3]: cap 1 drops [1,2]
  e.push(ev(4, "authentication", "c"), 4);
  e.finish();
  EXPECT_EQ(e.stats().overflow, 1u);
  EXPECT_TRUE(c.out.empty());
}

TEST(engine, join_emits_in_step_order_when_complete) {
  auto rs = compile({R"(join by user.name
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"])"});
  collector c;
  eng::engine e(rs, c.sink());
  e.push(ev(1, "authentication", "b"), 1);
  e.push(ev(2, "authentication", "b"), 2);
  e.push(ev(3, "authentication", "a"), 3);
  e.finish();
  EXPECT_EQ(c.out, std::vector<std::string>{R"(0:["bob"]:3,1)"});
}

TEST(engine, pipes_head_tail_and_filter) {
  auto rs =
      compile({R"(authentication where true | head 2)", R"(authentication where true | tail 2)",
               R"(sequence [authentication where true] [authentication where true]
                        | filter events[1].id == 3)"});
  collector c;
  eng::engine e(rs, c.sink());
  for (int i = 1; i <= 4; ++i)
    e.push(ev(i, "authentication", "x"), i);
  e.finish();
  std::sort(c.out.begin(), c.out.end());
  EXPECT_EQ(c.out, (std::vector<std::string>{"0:[]:1", "0:[]:2", "1:[]:3", "1:[]:4", "2:[]:2,3"}));
}

TEST(engine, router_groups_hits_by_key) {
  auto rs = compile({R"(sequence [process where true] by process.pid
                                  [process where true] by process.ppid)"});
  eng::router r(rs);
  r.route(*make(R"({"event":{"category":"process"},"process":{"pid":5,"ppid":1}})"));
  // Steps are tried last to first, so the second step's key comes first.
  ASSERT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.entries()[0].key, "[1]");
  EXPECT_EQ(r.entries()[1].key, "[5]");
  EXPECT_NE(r.entries()[0].hash, r.entries()[1].hash);
}

TEST(engine, index_keeps_evaluations_flat_from_100_to_1000_rules) {
  auto rules = [](int n) {
    std::vector<std::string> q;
    for (int i = 0; i < n; ++i) {
      if (i % 2 == 0)
        q.push_back("sequence by user.name [authentication where event.action == \"fail\" and "
                    "service.name == \"svc" +
                    std::to_string(i) +
                    "\"] with runs=3 "
                    "[authentication where event.action == \"ok\" and service.name == \"svc" +
                    std::to_string(i) + "\"]");
      else
        q.push_back("network where destination.domain in (\"d" + std::to_string(i) + ".com\", \"x" +
                    std::to_string(i) + ".net\")");
    }
    return q;
  };
  auto evaluations = [&](int n) {
    auto rs = compile(rules(n));
    eng::router r(rs);
    std::mt19937 rng(1);
    for (int i = 0; i < 2000; ++i) {
      int svc = static_cast<int>(rng() % 100);
      if (i % 2)
        r.route(*make(
            R"({"event":{"category":"authentication","action":"fail"},"service":{"name":"svc)" +
            std::to_string(svc) + R"("},"user":{"name":"u"}})"));
      else
        r.route(*make(R"({"event":{"category":"network"},"destination":{"domain":"d)" +
                      std::to_string(svc) + R"(.com"}})"));
      // Categories without rules cost nothing.
      r.route(*make(R"({"event":{"category":"file"}})"));
    }
    return r.evaluations();
  };
  auto e100 = evaluations(100);
  auto e1000 = evaluations(1000);
  EXPECT_GT(e100, 0u);
  EXPECT_LE(e1000, e100 * 3 / 2) << "100 rules: " << e100 << ", 1000 rules: " << e1000;
  EXPECT_LE(e100, 2000u); // at most one candidate per routed event
}

TEST(engine, evaluates_a_repeated_condition_and_key_list_once_per_event) {
  // Rules repeat step conditions (50 brute-force variations over 4 failure tests); the router
  // evaluates each distinct one once. Conditions that differ only in case mode stay apart.
  eng::options opts;
  opts.case_sensitive = true;
  auto rs = compile({R"(sequence by user.name [authentication where event.outcome == "failure"]
                          [authentication where event.outcome == "success"])",
                     R"(sequence by user.name with maxspan=1m
                          [authentication where event.outcome == "failure"] with runs=2
                          [authentication where event.outcome == "success"])",
                     R"(sequence by user.name [authentication where event.outcome : "FAILURE"]
                          [authentication where event.outcome : "SUCCESS"])",
                     R"(sequence by user.name [authentication where event.outcome == "FAILURE"]
                          [authentication where event.outcome == "SUCCESS"])",
                     R"(sequence by source.ip [authentication where event.outcome == "failure"]
                          [authentication where event.outcome == "success"])"},
                    opts);
  eng::router r(rs);
  r.route(*make(R"({"event":{"category":"authentication","outcome":"failure"},
                    "user":{"name":"bob"},"source":{"ip":"10.0.0.1"}})"));
  // Distinct conditions: == "failure", : "FAILURE", == "FAILURE" and the three success ones; the
  // failure event's candidates (index by outcome value, folded for `:`) are evaluated once each.
  EXPECT_LE(r.evaluations(), 3u);
  ASSERT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.entries()[0].key, R"(["bob"])");
  EXPECT_EQ(r.entries()[1].key, R"(["10.0.0.1"])");
  // Under bob: rules 0, 1 (both copies of its runs=2 step) and 2; not rule 3, whose
  // case-sensitive "FAILURE" must not share the insensitive condition's result.
  EXPECT_EQ(r.entries()[0].hits.size(), 4u);
  EXPECT_EQ(r.entries()[1].hits.size(), 1u);
  r.route(*make(R"({"event":{"category":"authentication","outcome":"FAILURE"},
                    "user":{"name":"eve"}})"));
  ASSERT_EQ(r.entries().size(), 1u);
  EXPECT_EQ(r.entries()[0].hits.size(), 2u) << "rules 2 and 3";
}

TEST(engine, push_hits_equals_push_key_and_ignores_hits_that_are_not_its_own) {
  auto rs = compile({R"(sequence by user.name with maxspan=1m
                          [authentication where event.action == "fail"] with runs=2
                          [authentication where event.action == "ok"])",
                     R"(authentication where event.action == "ok")"});
  std::vector<cw::event::event_ptr> evs = {ev(1, "authentication", "fail"),
                                           ev(2, "authentication", "fail"),
                                           ev(3, "authentication", "ok")};
  // Reference: every keyed item pushed with push_key (the matcher routing again).
  auto run = [&](auto push) {
    collector c;
    eng::engine e(rs, c.sink());
    eng::router rt(rs);
    for (std::size_t i = 0; i < evs.size(); ++i) {
      rt.route(*evs[i]);
      for (const auto& entry : rt.entries())
        push(e, evs[i], static_cast<std::int64_t>(i) * 1'000'000'000, entry);
    }
    e.finish();
    return c.out;
  };
  auto by_key = run([](eng::engine& e, auto& x, std::int64_t ts, const eng::route_entry& r) {
    EXPECT_EQ(e.push_key(x, ts, r.key), eng::push_result::accepted);
  });
  ASSERT_EQ(by_key, (std::vector<std::string>{R"(0:["bob"]:1,2,3)"}));
  auto by_hits = run([](eng::engine& e, auto& x, std::int64_t ts, const eng::route_entry& r) {
    EXPECT_EQ(e.push_hits(x, ts, r.key, r.hits), eng::push_result::accepted);
  });
  EXPECT_EQ(by_hits, by_key);
  // Ids beyond the ruleset, or a step of the event-query rule, are not trusted: routed again.
  auto bogus = run([&](eng::engine& e, auto& x, std::int64_t ts, const eng::route_entry& r) {
    std::vector<eng::step_id> bad = {static_cast<eng::step_id>(rs->step_count() + 5)};
    EXPECT_EQ(e.push_hits(x, ts, r.key, bad), eng::push_result::accepted);
  });
  EXPECT_EQ(bogus, by_key);
  EXPECT_EQ(rs->fingerprint(), compile({R"(sequence by user.name with maxspan=1m
                          [authentication where event.action == "fail"] with runs=2
                          [authentication where event.action == "ok"])",
                                        R"(authentication where event.action == "ok")"})
                                   ->fingerprint());
  EXPECT_NE(rs->fingerprint(),
            compile({R"(authentication where event.action == "ok")"})->fingerprint());
}

// Hits found with one list of bad domains are not another process's hits: the fingerprint
// covers the lists' contents, so a process whose lists differ routes again.
TEST(engine, the_fingerprint_covers_the_contents_of_the_lookup_lists) {
  const std::string query = R"(network where inList(destination.domain, "bad"))";
  auto with = [&](std::string_view text) {
    eql::list_registry lists;
    lists.add(*eql::lookup_list::parse("bad", eql::list_kind::domains, text));
    eng::options o;
    o.lists = &lists;
    return compile({query}, o)->fingerprint();
  };
  EXPECT_EQ(with("evil.com\n"), with("evil.com\n"));
  EXPECT_NE(with("evil.com\n"), with("evil.com\nworse.org\n"));
}

TEST(engine, push_hits_keeps_encoded_events_as_evidence_unless_a_pipe_reads_them) {
  auto rs = compile({R"(sequence by user.name with maxspan=1m
                          [authentication where event.action == "fail"] with runs=2
                          [authentication where event.action == "ok"])",
                     R"(sequence by user.name [authentication where event.action == "ok"]
                          [process where true] | head 1)"});
  std::vector<cw::event::event_ptr> evs = {
      ev(1, "authentication", "fail"), ev(2, "authentication", "fail"),
      ev(3, "authentication", "ok"), ev(4, "process", "start")};
  // Each match as rule, key and the msgpack of its events.
  auto run = [&](bool encode) {
    std::vector<std::string> out;
    eng::engine e(rs, [&](eng::match&& m) {
      std::string s = std::to_string(m.rule) + ":" + m.key + ":";
      for (const auto& x : m.events)
        cw::event::append_msgpack(s, *x);
      out.push_back(std::move(s));
    });
    eng::router rt(rs);
    for (std::size_t i = 0; i < evs.size(); ++i) {
      rt.route(*evs[i]);
      for (const auto& entry : rt.entries()) {
        EXPECT_TRUE(e.takes_hits(entry.key, entry.hits));
        auto x = evs[i];
        if (encode && !e.reads_events_of(entry.hits)) {
          std::string bytes;
          cw::event::append_msgpack(bytes, *x);
          x = std::make_shared<const cw::event::event>(cw::event::event::encoded(std::move(bytes)));
          EXPECT_TRUE(x->is_encoded());
          EXPECT_FALSE(x->get(cw::event::field_path("user.name")).exists());
        }
        EXPECT_EQ(
            e.push_hits(x, static_cast<std::int64_t>(i) * 1'000'000'000, entry.key, entry.hits),
            eng::push_result::accepted);
      }
    }
    e.finish();
    return out;
  };
  auto decoded = run(false);
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(run(true), decoded);
  // The piped rule's steps read their events (a process event hits only that rule); the other
  // rule's do not (a failure hits only that one).
  eng::engine e(rs, [](eng::match&&) {});
  eng::router rt(rs);
  auto hits_of = [&](const cw::event::event& x) {
    rt.route(x);
    EXPECT_EQ(rt.entries().size(), 1u);
    return std::vector<eng::step_id>(rt.entries()[0].hits.begin(), rt.entries()[0].hits.end());
  };
  auto seq_steps = hits_of(*evs[0]), piped_steps = hits_of(*evs[3]);
  EXPECT_FALSE(e.reads_events_of(seq_steps));
  EXPECT_TRUE(e.reads_events_of(piped_steps));
  EXPECT_FALSE(e.takes_hits("", seq_steps)) << "an empty key is routed again";
}

TEST(engine, push_hits_survives_any_combination_of_valid_step_ids) {
  // Hits come off the wire: a corrupt message that still carries the right fingerprint must not
  // break the engine, whatever ids (in range), order or repetition it holds.
  auto rs = compile({R"(sequence by user.name with maxspan=1m
                          [authentication where event.action == "fail"] with runs=3
                          [authentication where event.action == "ok"]
                          until [authentication where event.action == "reset"])",
                     R"(sequence by user.name with maxspan=10s
                          [process where true] ![network where true] [file where true])",
                     R"(join by user.name [process where true] [network where true])",
                     R"(authentication where event.action == "ok")"});
  collector c;
  eng::engine e(rs, c.sink());
  std::mt19937 rng(3);
  const auto steps = static_cast<std::uint32_t>(rs->step_count());
  for (int i = 0; i < 5000; ++i) {
    std::vector<eng::step_id> hits(1 + rng() % 8);
    for (auto& h : hits)
      h = static_cast<eng::step_id>(rng() % steps);
    e.push_hits(ev(i, "authentication", "fail"), std::int64_t{i} * 100'000'000, R"(["bob"])", hits);
    if (i % 50 == 0) e.advance(std::int64_t{i} * 100'000'000);
  }
  e.finish();
  SUCCEED() << c.out.size() << " matches";
}

TEST(key_state, buffers_in_time_order_and_reports_deadlines) {
  auto rs = compile({R"(sequence by user.name with maxspan=10s
                         [authentication where event.action == "a"]
                         [authentication where event.action == "b"])"});
  eng::router r(rs);
  struct sink : eng::key_sink {
    std::vector<std::int64_t> firsts;
    void on_match(eng::match&& m) override { firsts.push_back(m.first_ns); }
  } out;
  eng::key_state ks;
  auto feed = [&](cw::event::event_ptr e, std::int64_t ts, std::uint64_t seq) {
    r.route(*e);
    EXPECT_EQ(r.entries().size(), 1u);
    return ks.on_event(*rs, r.entries()[0].key, e, ts, seq, r.entries()[0].hits, out);
  };
  // b arrives before a but happens after it.
  EXPECT_EQ(feed(ev(2, "authentication", "b"), 5 * sec, 0), 5 * sec);
  EXPECT_EQ(feed(ev(1, "authentication", "a"), 1 * sec, 1), 1 * sec);
  EXPECT_FALSE(ks.empty());
  EXPECT_EQ(ks.advance(*rs, R"(["bob"])", 4 * sec, out), 5 * sec); // a processed, b waits
  EXPECT_EQ(ks.pending(), 1u);
  EXPECT_EQ(ks.advance(*rs, R"(["bob"])", 5 * sec, out), eng::no_deadline);
  EXPECT_EQ(out.firsts, std::vector<std::int64_t>{1 * sec});
  EXPECT_TRUE(ks.empty());
  EXPECT_EQ(ks.pending(), 0u);
}

TEST(engine, lineage_descendant_and_child_of) {
  auto rs = compile({R"(process where process.name == "whoami.exe"
                          and descendant of [process where process.name == "cmd.exe"])",
                     R"(process where process.name == "whoami.exe"
                          and not child of [process where process.name == "cmd.exe"])"});
  collector c;
  eng::engine e(rs, c.sink());
  auto proc = [](int id, int pid, int ppid, const char* name, const char* type) {
    return make(R"({"id":)" + std::to_string(id) + R"(,"event":{"category":["process"],"type":[")" +
                type + R"("]},"process":{"pid":)" + std::to_string(pid) + R"(,"parent":{"pid":)" +
                std::to_string(ppid) + R"(},"name":")" + name + R"("}})");
  };
  e.push(proc(1, 10, 1, "cmd.exe", "start"), 1);
  e.push(proc(2, 11, 10, "powershell.exe", "start"), 2);
  e.push(proc(3, 12, 11, "whoami.exe", "start"), 3); // grandchild of cmd
  e.push(proc(4, 13, 10, "whoami.exe", "start"), 4); // child of cmd
  e.push(proc(5, 14, 99, "whoami.exe", "start"), 5); // unrelated
  e.finish();
  EXPECT_EQ(c.out, (std::vector<std::string>{"0:[]:3", "1:[]:3", "0:[]:4", "1:[]:5"}));
}
