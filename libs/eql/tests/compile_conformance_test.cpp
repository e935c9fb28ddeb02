// Runs every plain (non-sequence, non-join, pipe-free) query of the Endgame EQL
// conformance suite as a filter over its 102 events and compares the matching
// serial_event_id list, in both case modes unless the query pins one.

#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/event/event.hpp>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <toml++/toml.h>
#include <vector>

namespace chainwatch::eql {
namespace {

const std::filesystem::path data_dir = std::filesystem::path(CHAINWATCH_SHARED_DATA) / "eql";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string join(const std::vector<std::int64_t>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i)
    out += (i ? ", " : "") + std::to_string(ids[i]);
  return out + "]";
}

TEST(compile_conformance, endgame_suite_plain_queries) {
  if (!std::filesystem::exists(data_dir / "test_queries.toml"))
    GTEST_SKIP() << "shared test data not found at " << data_dir;

  // Decode the JSON array, then split it into one event per element.
  event::json_decoder decoder;
  auto all = decoder.decode(read_file(data_dir / "test_data.json"), {.max_bytes = 1 << 24});
  ASSERT_TRUE(all.has_value()) << all.error().reason;
  std::vector<event::event> events;
  event::builder b;
  for (auto c = all->root().first_child(); c.exists(); c = c.next_sibling()) {
    b.reset();
    b.copy(c);
    events.push_back(b.finish());
  }
  ASSERT_EQ(events.size(), 102u);
  const event::field_path type_path("event_type");
  const event::field_path id_path("serial_event_id");

  toml::table suite = toml::parse_file((data_dir / "test_queries.toml").string());
  int passed = 0, failed = 0, skipped_pipes = 0, skipped_lineage = 0, skipped_sequences = 0,
      parse_errors = 0;
  std::vector<std::string> failures;
  std::vector<std::string> unparsed;
  for (const auto& item : *suite["queries"].as_array()) {
    const auto& q = *item.as_table();
    std::string text = q["query"].value_or(std::string{});
    auto parsed = parse(text);
    if (!parsed) {
      ++parse_errors;
      unparsed.push_back(text + "\n  -> " + parsed.error().message);
      continue;
    }
    const auto* body = std::get_if<event_query>(&parsed->body);
    if (!body) {
      ++skipped_sequences;
      continue;
    }
    if (!parsed->pipes.empty()) {
      ++skipped_pipes;
      continue;
    }
    std::vector<std::int64_t> expected;
    for (const auto& id : *q["expected_event_ids"].as_array())
      expected.push_back(id.value_or<std::int64_t>(0));
    std::vector<bool> modes;
    bool only_cs = q["case_sensitive"].value_or(false);
    bool only_ci = q["case_insensitive"].value_or(false);
    if (!only_ci) modes.push_back(true);
    if (!only_cs) modes.push_back(false);
    for (bool cs : modes) {
      std::string label = text + (cs ? "  [case-sensitive]" : "  [case-insensitive]");
      compile_options o;
      o.case_sensitive = cs;
      auto compiled = compile(body->condition, o);
      if (!compiled && compiled.error().message.find("lineage") != std::string::npos) {
        ++skipped_lineage;
        continue;
      }
      if (!compiled) {
        ++failed;
        failures.push_back(label + "\n  -> compile error: " + compiled.error().message);
        continue;
      }
      eval_context ctx;
      std::vector<std::int64_t> got;
      bool any = iequals(body->category, "any");
      for (const auto& ev : events) {
        if (!any && !iequals(ev.get(type_path).as_string(), body->category)) continue;
        ctx.current = &ev;
        if (compiled->test(ctx)) got.push_back(ev.get(id_path).as_int());
      }
      if (got == expected) {
        ++passed;
      } else {
        ++failed;
        failures.push_back(label + "\n  -> expected " + join(expected) + " got " + join(got));
      }
    }
  }
  std::printf("EQL conformance (plain queries x case modes): %d passed, %d failed; skipped: "
              "%d with pipes, %d sequence/join, %d lineage runs, %d parse errors\n",
              passed, failed, skipped_pipes, skipped_sequences, skipped_lineage, parse_errors);
  for (const auto& f : failures)
    std::printf("FAIL %s\n", f.c_str());
  for (const auto& u : unparsed)
    std::printf("UNPARSED %s\n", u.c_str());
  EXPECT_EQ(failed, 0);
  EXPECT_GT(passed, 100);
}

} // namespace
} // namespace chainwatch::eql
