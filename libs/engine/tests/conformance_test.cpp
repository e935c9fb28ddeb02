// EQL conformance: runs endgameinc/eql's test_queries.toml over test_data.json
// the way the reference harness does (file order, arrival mode, each case mode
// the query allows) and compares the concatenated serial_event_ids.

#include <chainwatch/engine/engine.hpp>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <toml++/toml.h>

namespace cw = chainwatch;
namespace eng = chainwatch::engine;

namespace {

constexpr std::size_t total_queries = 241;
constexpr std::size_t sequence_queries = 43;
// The issue asks for at least 217; the suite passes fully, so hold that line.
constexpr std::size_t min_passing = 241;

std::string data_dir() {
  return std::string(CHAINWATCH_SHARED_DATA) + "/eql";
}

struct loaded_event {
  cw::event::event_ptr ev;
  std::int64_t ts = 0;
};

std::vector<loaded_event> load_events(std::string* err) {
  std::ifstream in(data_dir() + "/test_data.json");
  std::stringstream ss;
  ss << in.rdbuf();
  cw::event::json_decoder dec;
  cw::event::decode_limits limits;
  limits.max_bytes = 64 << 20;
  auto doc = dec.decode(ss.str(), limits);
  if (!doc) {
    *err = "decode: " + doc.error().reason;
    return {};
  }
  std::vector<loaded_event> out;
  cw::event::field_path ts_path("timestamp");
  for (auto c = doc->root().first_child(); c.exists(); c = c.next_sibling()) {
    cw::event::builder b;
    b.copy(c);
    auto ev = std::make_shared<const cw::event::event>(b.finish());
    auto t = ev->get(ts_path);
    // Windows FILETIME (100 ns ticks since 1601) to ns since the Unix epoch.
    std::int64_t ts = (t.as_int() - 116444736000000000LL) * 100;
    out.push_back({std::move(ev), ts});
  }
  return out;
}

std::string ids_text(const std::vector<std::int64_t>& ids) {
  std::string s = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

/// Runs one query in one case mode; returns an empty string on success, else the reason.
std::string run_query(const std::string& query, bool case_sensitive,
                      const std::vector<loaded_event>& events,
                      const std::vector<std::int64_t>& expected,
                      eng::options::order ordering = eng::options::order::arrival) {
  eng::options opts;
  opts.category_field = "event_type";
  opts.case_sensitive = case_sensitive;
  opts.ordering = ordering;
  // The reference harness runs with data_source = endgame.
  opts.pid_field = "pid";
  opts.ppid_field = "ppid";
  opts.process_subtype_field = "opcode";
  opts.process_create = {"1", "3", "9"};
  opts.process_terminate = {"2", "4"};
  auto rs = eng::ruleset::compile({{"q", "q", query}}, opts);
  if (!rs) return "compile error: " + rs.error().err.message;
  std::vector<std::int64_t> got;
  cw::event::field_path serial("serial_event_id");
  eng::engine e(*rs, [&](eng::match&& m) {
    for (auto& ev : m.events)
      got.push_back(ev->get(serial).as_int());
  });
  for (auto& le : events)
    e.push(le.ev, le.ts);
  e.finish();
  if (got == expected) return {};
  return "expected " + ids_text(expected) + " got " + ids_text(got);
}

bool is_sequence(const std::string& q) {
  auto p = q.find_first_not_of(" \t\r\n");
  return p != std::string::npos && q.compare(p, 8, "sequence") == 0;
}

} // namespace

TEST(conformance, endgame_eql_suite) {
  if (!std::filesystem::exists(data_dir() + "/test_queries.toml"))
    GTEST_SKIP() << "shared test data not found at " << data_dir();
  std::string err;
  auto events = load_events(&err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_EQ(events.size(), 102u);

  toml::table tbl = toml::parse_file(data_dir() + "/test_queries.toml");
  auto* queries = tbl["queries"].as_array();
  ASSERT_NE(queries, nullptr);

  std::size_t total = 0, passed = 0, seq_total = 0, seq_passed = 0, time_passed = 0;
  std::vector<std::string> failures;
  for (auto& node : *queries) {
    auto* q = node.as_table();
    if (!q) continue;
    std::string text = (*q)["query"].value_or(std::string{});
    std::vector<std::int64_t> expected;
    if (auto* arr = (*q)["expected_event_ids"].as_array())
      for (auto& x : *arr)
        expected.push_back(x.value_or<std::int64_t>(0));
    bool only_sensitive = (*q)["case_sensitive"].value_or(false);
    bool only_insensitive = (*q)["case_insensitive"].value_or(false);
    std::vector<bool> modes;
    if (!only_insensitive) modes.push_back(true);
    if (!only_sensitive) modes.push_back(false);
    ++total;
    bool seq = is_sequence(text);
    seq_total += seq;
    std::string reason;
    bool time_ok = true;
    for (bool mode : modes)
      time_ok =
          time_ok && run_query(text, mode, events, expected, eng::options::order::time).empty();
    time_passed += time_ok;
    for (bool mode : modes) {
      auto r = run_query(text, mode, events, expected);
      if (!r.empty()) {
        reason = std::string(mode ? "[sensitive] " : "[insensitive] ") + r;
        break;
      }
    }
    if (reason.empty()) {
      ++passed;
      seq_passed += seq;
    } else {
      failures.push_back(text + "\n    -> " + reason);
    }
  }
  std::printf("EQL conformance: %zu/%zu passed (sequences %zu/%zu)\n", passed, total, seq_passed,
              seq_total);
  // Informational: the same suite in event-time order (the data has one timestamp
  // inversion, so a few results legitimately differ).
  std::printf("EQL conformance in order::time: %zu/%zu\n", time_passed, total);
  for (auto& f : failures)
    std::printf("FAIL: %s\n", f.c_str());
  EXPECT_EQ(total, total_queries);
  EXPECT_EQ(seq_total, sequence_queries);
  EXPECT_EQ(seq_passed, sequence_queries);
  EXPECT_GE(passed, min_passing);
}
