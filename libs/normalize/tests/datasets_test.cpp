// Zero-error runs over the real datasets under /work/shared/data: Windows
// (NXLog), Golden SAML (Sentinel SecurityEvent), Zeek TSV and NDJSON.

#include "test_util.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace chainwatch::normalize::testing {
namespace {

namespace fs = std::filesystem;

const fs::path data_root = fs::path(CHAINWATCH_SHARED_DATA);

std::string read_maybe_gz(const fs::path& p) {
  if (p.extension() != ".gz") {
    return read_file(p);
  }
  std::string out;
  gzFile f = gzopen(p.c_str(), "rb");
  if (f == nullptr) {
    return out;
  }
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  gzclose(f);
  return out;
}

struct run_result {
  std::size_t lines = 0;
  std::size_t events = 0;
  std::vector<normalize_error> errors;
  std::vector<event::event> sample; // every event when keep_all
};

run_result run_file(normalizer& n, source_type src, const fs::path& file, bool keep_all = false) {
  run_result r;
  const std::string text = read_maybe_gz(file);
  const std::string name = file.filename().string();
  stream_reader reader(n, src, context{name});
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++r.lines;
    auto ev = reader.next(line);
    if (!ev) {
      if (r.errors.size() < 5) {
        r.errors.push_back(ev.error());
      } else {
        r.errors.emplace_back();
      }
      continue;
    }
    if (*ev) {
      ++r.events;
      if (keep_all) {
        r.sample.push_back(std::move(**ev));
      }
    }
  }
  return r;
}

std::string describe(const run_result& r) {
  std::string out;
  for (std::size_t i = 0; i < r.errors.size() && i < 5; ++i) {
    out += std::string(to_string(r.errors[i].code)) + ": " + r.errors[i].reason + " @" +
           std::to_string(r.errors[i].offset) + " in: " + r.errors[i].raw.substr(0, 200) + "\n";
  }
  return out;
}

std::string str(const event::event& ev, std::string_view path) {
  auto v = ev.get(event::field_path(path));
  if (v.type() == event::kind::string) {
    return std::string(v.as_string());
  }
  if (v.type() == event::kind::integer) {
    return std::to_string(v.as_int());
  }
  return {};
}

bool has_value(const event::event& ev, std::string_view path, std::string_view want) {
  auto v = ev.get(event::field_path(path));
  if (v.type() == event::kind::array) {
    for (auto c = v.first_child(); c.exists(); c = c.next_sibling()) {
      if (c.type() == event::kind::string && c.as_string() == want) {
        return true;
      }
    }
    return false;
  }
  return v.type() == event::kind::string && v.as_string() == want;
}

TEST(datasets, windows_purplesharp_nxlog_zero_errors_and_password_spray) {
  const fs::path file = data_root / "windows/purplesharp_ad_playbook_I.json";
  if (!fs::exists(file)) {
    GTEST_SKIP() << "dataset " << file << " is absent";
  }
  normalizer n = make_normalizer();
  const run_result r = run_file(n, source_type::windows, file, true);
  EXPECT_EQ(r.errors.size(), 0u) << describe(r);
  EXPECT_EQ(r.events, 25993u);
  // The spray: failed logons (4625) at 08:29:55Z, each with a user, a source and the ECS auth
  // shape.
  std::size_t spray = 0;
  std::size_t validations = 0;
  for (const auto& ev : r.sample) {
    const std::string code = str(ev, "event.code");
    const std::string ts = str(ev, "@timestamp");
    if (code == "4625" && ts.starts_with("2020-10-22T08:29:5")) {
      ++spray;
      EXPECT_TRUE(has_value(ev, "event.category", "authentication"));
      EXPECT_EQ(str(ev, "event.outcome"), "failure");
      EXPECT_FALSE(str(ev, "user.name").empty());
      EXPECT_FALSE(str(ev, "host.name").empty());
      EXPECT_EQ(str(ev, "winlog.event_id"), "4625");
    }
    if (code == "4776" && ts.starts_with("2020-10-22T08:29:5")) {
      ++validations;
      EXPECT_TRUE(has_value(ev, "event.category", "authentication"));
      EXPECT_FALSE(str(ev, "user.name").empty());
    }
  }
  EXPECT_GE(spray, 7u);
  EXPECT_GE(validations, 7u);
}

TEST(datasets, golden_saml_windows_zero_errors) {
  const fs::path file = data_root / "mixed/golden_saml/WindowsEvents.json";
  if (!fs::exists(file)) {
    GTEST_SKIP() << "dataset " << file << " is absent";
  }
  normalizer n = make_normalizer();
  const run_result r = run_file(n, source_type::windows, file, true);
  EXPECT_EQ(r.errors.size(), 0u) << describe(r);
  EXPECT_GT(r.events, 0u);
  for (const auto& ev : r.sample) {
    EXPECT_FALSE(str(ev, "@timestamp").empty());
    EXPECT_FALSE(str(ev, "event.code").empty());
    EXPECT_FALSE(str(ev, "host.name").empty());
  }
}

TEST(datasets, zeek_logs_zero_errors) {
  if (!fs::exists(data_root / "zeek")) {
    GTEST_SKIP() << "dataset folder " << data_root / "zeek"
                 << " is absent";
  }
  normalizer n = make_normalizer();
  std::size_t files = 0;
  for (const auto& dir : {"kovter", "simda", "ssh_scan", "wrccdc"}) {
    for (const auto& e : fs::directory_iterator(data_root / "zeek" / dir)) {
      const auto name = e.path().filename().string();
      if (name.find(".log") == std::string::npos) {
        continue;
      }
      ++files;
      const run_result r = run_file(n, source_type::zeek, e.path(), true);
      EXPECT_EQ(r.errors.size(), 0u) << e.path() << "\n" << describe(r);
      EXPECT_GT(r.events, 0u) << e.path();
      for (const auto& ev : r.sample) {
        if (str(ev, "@timestamp").empty() || str(ev, "event.id").empty()) {
          ADD_FAILURE() << e.path()
                        << ": event without @timestamp or event.id: " << event::to_json(ev);
          break;
        }
      }
    }
  }
  EXPECT_GE(files, 10u);
}

} // namespace
} // namespace chainwatch::normalize::testing
