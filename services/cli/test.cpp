// `chainwatch test`: rule test cases as files. A case is a directory
// `<rules dir>/tests/<rule file stem>/<case>/` holding the events (`events.ndjson`, ECS, or
// `events.<source>.<ext>`, raw logs of a `chainwatch sources` type) and the alerts expected of
// the rule over them (`expected.ndjson`, one `{"key", "first", "last"}` object per alert, maybe
// empty). Each case runs `chainwatch hunt` with the rule alone over its events.

#include "commands.hpp"
#include "rule_loading.hpp"

#include <algorithm>
#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

namespace chainwatch::cli {

namespace {

/// An alert as a case compares it: rule, join key, first and last event time, undecided.
/// Expected lines may leave the rule out (the rule under test) and `undecided` (false).
std::optional<std::string> canonical(std::string_view line, const std::string& rule_id,
                                     event::json_decoder& dec, std::string& why) {
  auto doc = dec.decode(line);
  if (!doc || doc->root().type() != event::kind::object) {
    why = "not a JSON object";
    return std::nullopt;
  }
  auto get = [&](const char* f) { return doc->get(event::field_path{f}); };
  std::string out = "{\"rule\":";
  auto rule = get("rule");
  event::append_json_string(out, rule.type() == event::kind::string ? rule.as_string() : rule_id);
  out += ",\"key\":";
  auto key = get("key");
  if (!key.exists()) {
    why = "no \"key\" (use [] for a rule without one)";
    return std::nullopt;
  }
  event::append_json(out, key);
  for (const char* f : {"first", "last"}) {
    auto v = get(f);
    auto t = v.type() == event::kind::string ? time::parse_iso8601(v.as_string()) : std::nullopt;
    if (!t) {
      why = std::string("no ISO 8601 \"") + f + "\"";
      return std::nullopt;
    }
    out += std::string(",\"") + f + "\":\"" + time::format_iso8601(*t) + "\"";
  }
  auto undecided = get("undecided");
  if (undecided.type() == event::kind::boolean && undecided.as_bool()) out += ",\"undecided\":true";
  out += '}';
  return out;
}

struct case_files {
  fs::path events;
  std::string source; ///< empty: ECS JSON
  fs::path expected;
};

std::optional<case_files> find_files(const fs::path& dir, std::string& why) {
  case_files c;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name == "expected.ndjson") {
      c.expected = e.path();
    } else if (name == "events.ndjson") {
      c.events = e.path();
    } else if (name.starts_with("events.")) {
      auto rest = name.substr(7);
      auto dot = rest.rfind('.');
      c.events = e.path();
      c.source = rest.substr(0, dot);
    }
  }
  if (c.events.empty())
    why = "no events.ndjson or events.<source>.<ext>";
  else if (c.expected.empty())
    why = "no expected.ndjson";
  if (!why.empty()) return std::nullopt;
  return c;
}

} // namespace

int run_test(const test_options& o) {
  std::vector<std::string> errors, skipped;
  auto rules = load_rules(o.paths, {}, errors, skipped);
  for (const auto& e : errors)
    std::cerr << e << "\n";
  if (!errors.empty()) return 2;
  std::size_t cases = 0, failed = 0, untested = 0;
  event::json_decoder dec;
  for (const auto& r : rules) {
    const fs::path file(r.meta.file);
    const fs::path dir = file.parent_path() / "tests" / file.stem();
    std::error_code ec;
    std::vector<fs::path> case_dirs;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory()) case_dirs.push_back(e.path());
    if (case_dirs.empty()) {
      ++untested;
      continue;
    }
    std::sort(case_dirs.begin(), case_dirs.end());
    for (const auto& cd : case_dirs) {
      ++cases;
      const std::string label = r.meta.file + " " + cd.filename().string();
      auto fail = [&](const std::string& what) {
        ++failed;
        std::cout << "FAIL " << label << ": " << what << "\n";
      };
      std::string why;
      auto files = find_files(cd, why);
      if (!files) {
        fail(why);
        continue;
      }
      hunt_options h;
      h.rule_paths = {r.meta.file};
      h.list_dirs = o.list_dirs;
      h.source_dirs = o.source_dirs;
      h.source = files->source;
      h.files = {files->events.string()};
      h.progress = false;
      h.summary = false;
      h.undecided = true;
      char* buf = nullptr;
      std::size_t len = 0;
      std::FILE* mem = open_memstream(&buf, &len);
      h.out = mem;
      const int rc = run_hunt(h);
      std::fclose(mem);
      std::string output(buf, len);
      std::free(buf);
      if (rc != 0) {
        fail("hunt exited " + std::to_string(rc));
        continue;
      }
      std::vector<std::string> got, want;
      std::istringstream lines(output);
      for (std::string line; std::getline(lines, line);)
        if (auto c = canonical(line, r.meta.rule_id, dec, why)) got.push_back(*c);
      std::ifstream exp(files->expected);
      bool bad = false;
      std::uint64_t no = 0;
      for (std::string line; std::getline(exp, line);) {
        ++no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        if (auto c = canonical(line, r.meta.rule_id, dec, why)) {
          want.push_back(*c);
        } else {
          fail(files->expected.string() + ":" + std::to_string(no) + ": " + why);
          bad = true;
          break;
        }
      }
      if (bad) continue;
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      if (got == want) {
        std::cout << "ok   " << label << " (" << got.size() << " alerts)\n";
        continue;
      }
      std::vector<std::string> missing, extra;
      std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                          std::back_inserter(missing));
      std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                          std::back_inserter(extra));
      fail("alerts differ (- expected, not raised; + raised, not expected)");
      for (const auto& m : missing)
        std::cout << "  - " << m << "\n";
      for (const auto& e : extra)
        std::cout << "  + " << e << "\n";
    }
  }
  std::cout << "test: " << cases << " cases, " << cases - failed << " passed, " << failed
            << " failed; " << untested << " of " << rules.size() << " rules have no cases\n";
  return failed ? 1 : 0;
}

} // namespace chainwatch::cli
