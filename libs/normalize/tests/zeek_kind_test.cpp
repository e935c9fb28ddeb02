// Which Zeek log a record is (its kind): source type, then `_path` / `@stream` / `#path`, then the
// record's fields, then a Zeek log file name; an unknown kind never becomes a `zeek.-.` or
// `zeek..` field prefix. Mixed streams built from the real logs under /work/shared/data.

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace chainwatch::normalize::testing {
namespace {

namespace fs = std::filesystem;

// Every output key that starts with `zeek.`, and none with an empty or `-` kind segment.
void expect_clean_keys(const event::event& ev) {
  for (const auto& [key, value] : flatten(ev)) {
    EXPECT_FALSE(key.starts_with("zeek.-.")) << key;
    EXPECT_FALSE(key.starts_with("zeek..")) << key;
    EXPECT_EQ(key.find(".."), std::string::npos) << key;
  }
}

constexpr const char* ssh_record =
    R"({"ts":1562527532.904291,"uid":"CajWfz1b3qnnWT0BU9","id_orig_h":"192.168.1.2",)"
    R"("id_orig_p":48380,"id_resp_h":"192.168.1.1","id_resp_p":22,"version":2,)"
    R"("auth_success":false,"auth_attempts":2,"client":"SSH-2.0-OpenSSH_7.9p1",)"
    R"("server":"SSH-2.0-OpenSSH_6.6.1p1","kex_alg":"curve25519-sha256"})";

TEST(zeek_kind, from_the_fields_of_a_record_without_path) {
  auto n = make_normalizer();
  for (const char* file : {"", "-", "/dev/stdin", "capture.json"}) {
    SCOPED_TRACE(file);
    auto ev = n.normalize(source_type::zeek, ssh_record, context{file});
    ASSERT_TRUE(ev) << ev.error().reason;
    EXPECT_EQ(field_text(*ev, "event.outcome"), "failure");
    EXPECT_EQ(field_text(*ev, "zeek.ssh.auth.success"), "false");
    EXPECT_EQ(field_text(*ev, "zeek.ssh.auth.attempts"), "2");
    EXPECT_EQ(field_text(*ev, "zeek.ssh.client"), "SSH-2.0-OpenSSH_7.9p1");
    EXPECT_EQ(field_text(*ev, "source.ip"), "192.168.1.2");
    expect_clean_keys(*ev);
  }
  // The record's `_path` outranks its fields; the source type outranks both.
  auto path = n.normalize(source_type::zeek, R"({"_path":"conn","auth_attempts":1,"x":1})");
  ASSERT_TRUE(path);
  EXPECT_EQ(field_text(*path, "zeek.connection.auth_attempts"), "1");
  auto typed = n.normalize(source_type::zeek_ssh, R"({"_path":"conn","auth_attempts":1})");
  ASSERT_TRUE(typed);
  EXPECT_EQ(field_text(*typed, "zeek.ssh.auth.attempts"), "1");
  // `@stream` (the JSON streaming writer) says the same as `_path`.
  auto stream = n.normalize(source_type::zeek, R"({"@stream":"dns","query":"a.example"})");
  ASSERT_TRUE(stream);
  EXPECT_EQ(field_text(*stream, "dns.question.name"), "a.example");
}

TEST(zeek_kind, from_a_zeek_log_file_name_only) {
  auto n = make_normalizer();
  constexpr const char* bare = R"({"ts":1562527532.5,"uid":"C1","id.orig_h":"10.0.0.1","foo":7})";
  const std::pair<const char*, const char*> names[] = {
      {"ssh.log", "zeek.ssh.foo"},
      {"/nsm/zeek/logs/2024-01-01/ssh.2024-01-01.log.gz", "zeek.ssh.foo"},
      {"conn.00:00:00-01:00:00.log", "zeek.connection.foo"},
      {"kerberos.log", "zeek.kerberos.foo"},
      // Not a Zeek log name, or stdin: no kind, and no `zeek.-.` / `zeek.capture.` prefix.
      {"-", "zeek.foo"},
      {"", "zeek.foo"},
      {"capture.json", "zeek.foo"},
      {"sshd.log", "zeek.foo"},
  };
  for (const auto& [file, key] : names) {
    SCOPED_TRACE(file);
    auto ev = n.normalize(source_type::zeek, bare, context{file});
    ASSERT_TRUE(ev) << ev.error().reason;
    EXPECT_EQ(field_text(*ev, key), "7");
    // Unknown kind: the common fields are still normalized.
    EXPECT_EQ(field_text(*ev, "source.ip"), "10.0.0.1");
    EXPECT_EQ(field_text(*ev, "event.id"), "C1");
    EXPECT_EQ(field_text(*ev, "@timestamp"), "2019-07-07T19:25:32.500Z");
    expect_clean_keys(*ev);
  }
}

TEST(zeek_kind, tsv_without_path_header_uses_fields_then_file_name) {
  auto n = make_normalizer();
  const char* header[] = {"#separator \\x09",
                          "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
                          "auth_success\tauth_attempts",
                          "#types\ttime\tstring\taddr\tport\taddr\tport\tbool\tcount"};
  stream_reader r(n, source_type::zeek, context{"-"});
  for (const char* h : header) {
    ASSERT_TRUE(r.next(h));
  }
  auto ev = r.next("1562527532.904291\tC1\t10.0.0.1\t4000\t10.0.0.2\t22\tT\t1");
  ASSERT_TRUE(ev && *ev);
  EXPECT_EQ(field_text(**ev, "event.outcome"), "success");
  expect_clean_keys(**ev);
  stream_reader named(n, source_type::zeek, context{"dns.2024-01-01.log"});
  ASSERT_TRUE(named.next("#fields\tts\tquery\tfoo"));
  auto dns = named.next("1562527532.904291\ta.example\tbar");
  ASSERT_TRUE(dns && *dns);
  EXPECT_EQ(field_text(**dns, "dns.question.name"), "a.example");
  EXPECT_EQ(field_text(**dns, "zeek.dns.foo"), "bar");
}

// First data line of each JSON log under normalization/zeek (Elastic's test logs, which carry no
// `_path`).
std::vector<std::pair<std::string, std::string>> real_lines(const fs::path& root) {
  const std::pair<const char*, const char*> logs[] = {
      {"conn", "connection/test-conn.log"}, {"dns", "dns/test-dns.log"},
      {"http", "http/test-http.log"},       {"files", "files/test-files.log"},
      {"ssh", "ssh/test-ssh.log"},          {"notice", "notice/test-notice.log"}};
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [kind, file] : logs) {
    std::istringstream in(read_file(root / file));
    std::string line;
    std::getline(in, line);
    out.emplace_back(kind, line);
  }
  return out;
}

void expect_kind(const event::event& ev, const std::string& kind) {
  SCOPED_TRACE(kind);
  expect_clean_keys(ev);
  if (kind == "conn") {
    EXPECT_EQ(field_text(ev, "zeek.connection.state"), "SF");
    EXPECT_EQ(field_text(ev, "network.bytes"), "309");
  } else if (kind == "dns") {
    EXPECT_EQ(field_text(ev, "dns.question.name"),
              "dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io");
    EXPECT_EQ(field_text(ev, "dns.id"), "15209");
  } else if (kind == "http") {
    EXPECT_EQ(field_text(ev, "http.request.method"), "GET");
    EXPECT_EQ(field_text(ev, "url.domain"), "ocsp.apple.com");
  } else if (kind == "files") {
    EXPECT_EQ(field_text(ev, "event.category"), canon_array({"file"}));
    EXPECT_EQ(field_text(ev, "zeek.files.fuid"), "FMkioa222mEuM2RuQ9");
  } else if (kind == "ssh") {
    EXPECT_EQ(field_text(ev, "event.outcome"), "failure");
    EXPECT_EQ(field_text(ev, "zeek.ssh.auth.attempts"), "2");
  } else if (kind == "notice") {
    EXPECT_EQ(field_text(ev, "rule.name"), "SSH::Password_Guessing");
    EXPECT_EQ(field_text(ev, "event.kind"), "alert");
  }
}

TEST(zeek_kind, a_mixed_json_stream_normalizes_each_line_by_its_own_kind) {
  const fs::path root = fs::path(CHAINWATCH_SHARED_DATA) / "normalization" / "zeek";
  if (!fs::exists(root / "ssh/test-ssh.log")) {
    GTEST_SKIP() << "shared data folder " << root << " is absent";
  }
  auto n = make_normalizer();
  const auto lines = real_lines(root);
  // Twice over, interleaved: once with `_path` as Zeek's JSON writer emits it (prepended), once
  // as found (the kind then comes from the fields).
  std::vector<std::pair<std::string, std::string>> stream;
  for (int round = 0; round < 2; ++round) {
    for (const auto& [kind, line] : lines) {
      stream.emplace_back(kind,
                          round == 0 ? R"({"_path":")" + kind + "\"," + line.substr(1) : line);
    }
  }
  stream_reader r(n, source_type::zeek, context{"-"});
  for (const auto& [kind, line] : stream) {
    auto ev = r.next(line);
    ASSERT_TRUE(ev && *ev) << line;
    expect_kind(**ev, kind);
    if (line.starts_with(R"({"_path")")) {
      EXPECT_EQ(field_text(**ev, "zeek.path"), kind);
    }
  }
}

TEST(zeek_kind, a_real_ssh_log_without_path_or_file_name) {
  const fs::path file = fs::path(CHAINWATCH_SHARED_DATA) / "zeek" / "ssh_scan" / "ssh.log";
  if (!fs::exists(file)) {
    GTEST_SKIP() << file << " is absent";
  }
  auto n = make_normalizer();
  stream_reader r(n, source_type::zeek, context{"-"});
  std::istringstream in(read_file(file));
  std::string line;
  std::size_t events = 0;
  while (std::getline(in, line) && events < 500) {
    auto ev = r.next(line);
    ASSERT_TRUE(ev) << ev.error().reason;
    if (!*ev) {
      continue;
    }
    ++events;
    expect_clean_keys(**ev);
    EXPECT_EQ(field_text(**ev, "network.protocol"), "ssh");
    EXPECT_FALSE(field_text(**ev, "zeek.ssh.auth.attempts").empty()) << line;
  }
  EXPECT_GT(events, 0u);
}

} // namespace
} // namespace chainwatch::normalize::testing
