// Sigma rules compile to EQL: each case is a detection and the events it must and must not
// match (through the EQL text, parsed again and compiled, as the engine receives it), or the
// reason it is refused.

#include <chainwatch/eql/compile.hpp>
#include <chainwatch/sigma/sigma.hpp>
#include <gtest/gtest.h>

namespace chainwatch::sigma {
namespace {

const mapping& test_maps() {
  static const mapping m = [] {
    mapping out;
    auto p = parse_mapping(R"(
[pipeline]
product = "test"
require_logsource = false
[fields]
Image = "process.executable"
CommandLine = "process.command_line"
[[logsource]]
category = "process_creation"
where = { "event.category" = "process", "event.type" = "start" }
[[logsource]]
service = "security"
where = { "winlog.channel" = "Security" }
fields = { CommandLine = "cmd" }
)",
                           "test.toml");
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().render("test.toml"));
    if (p) out.products.push_back(std::move(*p));
    return out;
  }();
  return m;
}

std::string rule_yaml(std::string_view detection, std::string_view logsource = "product: test") {
  std::string y = "title: t\nid: 1\nlogsource:\n";
  std::string ls(logsource);
  std::size_t pos = 0;
  while (pos < ls.size()) {
    auto nl = ls.find('\n', pos);
    y += "  " + ls.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  y += "detection:\n";
  pos = 0;
  std::string d(detection);
  while (pos < d.size()) {
    auto nl = d.find('\n', pos);
    y += "  " + d.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return y;
}

/// The EQL text of a one-rule detection, or "ERR line:col message".
std::string eql_of(std::string_view detection, std::string_view logsource = "product: test") {
  auto docs = parse_rules(rule_yaml(detection, logsource), test_maps());
  if (docs.size() != 1) return "ERR documents: " + std::to_string(docs.size());
  if (!docs[0].result)
    return "ERR " + std::to_string(docs[0].result.error().line) + ":" +
           std::to_string(docs[0].result.error().column) + " " + docs[0].result.error().message;
  return eql::to_string(docs[0].result->query);
}

/// Whether the detection matches the event (JSON), through EQL text as the engine gets it.
std::string fires(std::string_view detection, std::string_view json) {
  const std::string text = eql_of(detection);
  if (text.starts_with("ERR")) return text;
  auto q = eql::parse(text);
  if (!q) return "EQL parse error: " + q.error().message + " in " + text;
  if (eql::to_string(*q) != text) return "round trip changed: " + eql::to_string(*q);
  event::json_decoder d;
  auto ev = d.decode(json);
  if (!ev) return "bad test event";
  // The same answer whatever the engine's case option (Sigma says what is cased).
  std::string answer;
  for (bool cs : {false, true}) {
    eql::compile_options o;
    o.case_sensitive = cs;
    auto c = eql::compile(std::get<eql::event_query>(q->body).condition, o);
    if (!c) return "EQL compile error: " + c.error().message + " in " + text;
    eql::eval_context ctx;
    ctx.current = &*ev;
    const std::string a = c->test(ctx) ? "yes" : "no";
    if (!answer.empty() && a != answer) return "depends on the case option: " + text;
    answer = a;
  }
  return answer;
}

TEST(sigma, selections_maps_lists_and_values) {
  // A map is `and`, a list of values `or`; Sigma is case-insensitive.
  EXPECT_EQ(eql_of("sel:\n  Image: 'C:\\Windows\\cmd.exe'\n  CommandLine: [a, b]\ncondition: sel"),
            R"(any where process.executable in~ ("C:\\Windows\\cmd.exe") and )"
            R"(process.command_line in~ ("a", "b"))");
  EXPECT_EQ(fires("sel:\n  Image: 'C:\\Windows\\CMD.exe'\ncondition: sel",
                  R"({"process":{"executable":"c:\\windows\\cmd.exe"}})"),
            "yes");
  // A list of maps is `or`.
  const char* lm = "sel:\n  - Image: a\n  - CommandLine: b\ncondition: sel";
  EXPECT_EQ(fires(lm, R"({"process":{"command_line":"B"}})"), "yes");
  EXPECT_EQ(fires(lm, R"({"process":{"command_line":"c"}})"), "no");
  // Numbers also match their text (event.code is a string in ECS).
  EXPECT_EQ(eql_of("sel:\n  EventID: 4688\ncondition: sel"),
            R"(any where EventID in~ (4688, "4688"))");
  EXPECT_EQ(fires("sel:\n  EventID: 4688\ncondition: sel", R"({"EventID":"4688"})"), "yes");
  EXPECT_EQ(fires("sel:\n  EventID: '4688'\ncondition: sel", R"({"EventID":4688})"), "no");
  // Null is a missing field; '' the empty string.
  EXPECT_EQ(fires("sel:\n  X: null\ncondition: sel", R"({"Y":1})"), "yes");
  EXPECT_EQ(fires("sel:\n  X: null\ncondition: sel", R"({"X":"a"})"), "no");
  EXPECT_EQ(fires("sel:\n  X: ''\ncondition: sel", R"({"X":""})"), "yes");
  EXPECT_EQ(fires("sel:\n  X: ''\ncondition: sel", R"({"X":"a"})"), "no");
  // Fields keep unmapped names (the test mapping has no prefix).
  EXPECT_EQ(fires("sel:\n  a.b: x\ncondition: sel", R"({"a":{"b":"X"}})"), "yes");
}

TEST(sigma, wildcards_and_escapes) {
  EXPECT_EQ(eql_of("sel:\n  Image: '*\\cmd.exe'\ncondition: sel"),
            R"(any where process.executable like~ ("*\\cmd.exe"))");
  EXPECT_EQ(fires("sel:\n  Image: 'c?d'\ncondition: sel", R"({"process":{"executable":"CMD"}})"),
            "yes");
  EXPECT_EQ(fires("sel:\n  Image: 'c?d'\ncondition: sel", R"({"process":{"executable":"cd"}})"),
            "no");
  // An escaped star is a star: a regular expression, since EQL wildcards have no escape.
  const char* star = "sel:\n  X: 'a\\*b*'\ncondition: sel";
  EXPECT_EQ(fires(star, R"({"X":"A*bzz"})"), "yes");
  EXPECT_EQ(fires(star, R"({"X":"axbzz"})"), "no");
  // `\\*` is a backslash then a wildcard; a lone `\` is a backslash.
  EXPECT_EQ(fires("sel:\n  X: 'a\\\\*'\ncondition: sel", R"({"X":"a\\zz"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X: 'a\\b'\ncondition: sel", R"({"X":"a\\b"})"), "yes");
  auto s = parse_sigma_string("a\\*b\\\\*c\\d?");
  EXPECT_EQ(s.text, "a*b\\*c\\d?");
  EXPECT_EQ(s.wild,
            (std::vector<bool>{false, false, false, false, true, false, false, false, true}));
}

TEST(sigma, string_modifiers) {
  EXPECT_EQ(fires("sel:\n  X|contains: MiMi\ncondition: sel", R"({"X":"run mimikatz"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|startswith: run\ncondition: sel", R"({"X":"RUN it"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|startswith: run\ncondition: sel", R"({"X":"a run"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|endswith: '.exe'\ncondition: sel", R"({"X":"a.EXE"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|endswith: '.exe'\ncondition: sel", R"({"X":"a.exe.txt"})"), "no");
  // all: every value must hold.
  const char* all = "sel:\n  X|contains|all: [' -a', ' -b']\ncondition: sel";
  EXPECT_EQ(fires(all, R"({"X":"x -b -a"})"), "yes");
  EXPECT_EQ(fires(all, R"({"X":"x -a"})"), "no");
  // cased: case-sensitive.
  EXPECT_EQ(fires("sel:\n  X|cased: Abc\ncondition: sel", R"({"X":"abc"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|contains|cased: Abc\ncondition: sel", R"({"X":"xAbcx"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|contains|cased: Abc\ncondition: sel", R"({"X":"xabcx"})"), "no");
  // windash: a dash or slash that starts a word, as any of five dashes.
  const char* wd = "sel:\n  X|windash|contains: ' -enc '\ncondition: sel";
  EXPECT_EQ(fires(wd, R"({"X":"ps /enc abc"})"), "yes");
  EXPECT_EQ(fires(wd, "{\"X\":\"ps \xE2\x80\x94"
                      "enc abc\"}"),
            "yes");
  EXPECT_EQ(fires(wd, R"({"X":"ps +enc abc"})"), "no");
  EXPECT_EQ(windash("-a -b").size(), 25u);
  EXPECT_EQ(windash("a-b").size(), 1u); // inside a word: kept
}

TEST(sigma, regular_expressions) {
  // `re` searches and is case-sensitive; i, m, s flags.
  EXPECT_EQ(fires("sel:\n  X|re: '\\s-H\\s'\ncondition: sel", R"({"X":"curl -H x"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|re: '\\s-H\\s'\ncondition: sel", R"({"X":"curl -h x"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|re|i: '\\s-H\\s'\ncondition: sel", R"({"X":"curl -h x"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|re: '^a$'\ncondition: sel", R"({"X":"b\na"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|re|m: '^a$'\ncondition: sel", R"({"X":"b\na"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|re: 'a.b'\ncondition: sel", R"({"X":"a\nb"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|re|s: 'a.b'\ncondition: sel", R"({"X":"a\nb"})"), "yes");
  // RE2 has no lookaround: the rule is refused with RE2's reason, at its detection.
  EXPECT_TRUE(eql_of("sel:\n  X|re: 'a(?!b)'\ncondition: sel")
                  .starts_with("ERR 6:3 the EQL this detection compiles to is refused: invalid "
                               "regular expression"));
  EXPECT_TRUE(eql_of("sel:\n  X|cidr: 10.0.0.0/99\ncondition: sel")
                  .starts_with("ERR 6:3 the EQL this detection compiles to is refused"));
  EXPECT_EQ(eql_of("sel:\n  X|i: a\ncondition: sel"),
            "ERR 7:5 the regular expression flags i, m, s need the 're' modifier");
}

TEST(sigma, encodings) {
  EXPECT_EQ(base64("cmd"), "Y21k");
  EXPECT_EQ(base64("cm"), "Y20=");
  EXPECT_EQ(base64_offsets("http://"),
            (std::vector<std::string>{"aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"}));
  EXPECT_EQ(fires("sel:\n  X|base64: 'cmd'\ncondition: sel", R"({"X":"Y21k"})"), "yes");
  // base64offset: the value anywhere inside an encoded text ("xxhttp://a" encoded).
  const char* off = "sel:\n  X|base64offset|contains: 'http://'\ncondition: sel";
  EXPECT_EQ(fires(off, R"({"X":"-enc eHhodHRwOi8vYQ=="})"), "yes");
  EXPECT_EQ(fires(off, R"({"X":"-enc aHR0cHM6Ly9h"})"), "no");
  // wide + base64offset: PowerShell -EncodedCommand ("IEX" as UTF-16LE, base64: SQBFAFgA).
  EXPECT_EQ(fires("sel:\n  X|wide|base64offset|contains: 'IEX'\ncondition: sel",
                  R"({"X":"powershell -e SQBFAFgAIAAoAE4AZQB3AA=="})"),
            "yes");
  EXPECT_EQ(fires("sel:\n  X|utf16be|base64: 'A'\ncondition: sel", R"({"X":"AEE="})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|utf16|base64: 'A'\ncondition: sel", R"({"X":"//5BAA=="})"), "yes");
  EXPECT_EQ(eql_of("sel:\n  X|wide: 'A'\ncondition: sel"),
            "ERR 7:13 UTF-16 text can only be matched through base64 (add |base64 or "
            "|base64offset)");
  EXPECT_EQ(eql_of("sel:\n  X|base64: 'a*'\ncondition: sel"),
            "ERR 7:15 modifier 'base64' cannot encode a value with wildcards");
}

TEST(sigma, other_modifiers) {
  EXPECT_EQ(fires("sel:\n  X|cidr: 10.0.0.0/8\ncondition: sel", R"({"X":"10.1.2.3"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|cidr: 10.0.0.0/8\ncondition: sel", R"({"X":"11.1.2.3"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|exists: true\ncondition: sel", R"({"X":""})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|exists: false\ncondition: sel", R"({"X":""})"), "no");
  EXPECT_EQ(fires("sel:\n  X|gt: 5\ncondition: sel", R"({"X":6})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|gte: 5\ncondition: sel", R"({"X":5})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|lt: 5\ncondition: sel", R"({"X":5})"), "no");
  EXPECT_EQ(fires("sel:\n  X|lte: 5.5\ncondition: sel", R"({"X":5})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|neq: a\ncondition: sel", R"({"X":"b"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|neq: a\ncondition: sel", R"({"X":"A"})"), "no");
  // fieldref: compares two fields of the event.
  EXPECT_EQ(fires("sel:\n  X|fieldref: Y\ncondition: sel", R"({"X":"a","Y":"A"})"), "yes");
  EXPECT_EQ(fires("sel:\n  X|fieldref: Y\ncondition: sel", R"({"X":"a","Y":"b"})"), "no");
  EXPECT_EQ(fires("sel:\n  X|fieldref|startswith: Y\ncondition: sel", R"({"X":"ab","Y":"A"})"),
            "yes");
  EXPECT_EQ(eql_of("sel:\n  X|expand: '%x%'\ncondition: sel"),
            "ERR 7:5 modifier 'expand': placeholders need values from a processing pipeline, "
            "which chainwatch does not have");
  EXPECT_EQ(eql_of("sel:\n  X|bogus: a\ncondition: sel"), "ERR 7:5 unknown modifier 'bogus'");
  EXPECT_EQ(eql_of("sel:\n  X|hour: 3\ncondition: sel"),
            "ERR 7:5 time modifier 'hour' is not supported");
}

TEST(sigma, conditions) {
  const char* d = "sel_a:\n  X: a\nsel_b:\n  Y: b\nfilter:\n  Z: z\n_hidden:\n  W: w\n";
  auto cond = [&](std::string c, std::string json) {
    return fires(std::string(d) + "condition: " + c, json);
  };
  EXPECT_EQ(cond("sel_a and not filter", R"({"X":"a"})"), "yes");
  EXPECT_EQ(cond("sel_a and not filter", R"({"X":"a","Z":"z"})"), "no");
  EXPECT_EQ(cond("1 of sel_*", R"({"Y":"b"})"), "yes");
  EXPECT_EQ(cond("all of sel_*", R"({"Y":"b"})"), "no");
  EXPECT_EQ(cond("all of sel_*", R"({"X":"a","Y":"b"})"), "yes");
  EXPECT_EQ(cond("any of sel_*", R"({"X":"a"})"), "yes");
  EXPECT_EQ(cond("1 of them", R"({"Z":"z"})"), "yes");
  EXPECT_EQ(cond("1 of them", R"({"W":"w"})"), "no"); // `_` names are not in `them`
  EXPECT_EQ(cond("all of them", R"({"X":"a","Y":"b","Z":"z"})"), "yes");
  EXPECT_EQ(cond("(sel_a or sel_b) and not (filter or _hidden)", R"({"Y":"b","W":"w"})"), "no");
  EXPECT_EQ(cond("sel_a or sel_b and filter", R"({"X":"a"})"), "yes"); // and binds tighter
  EXPECT_EQ(cond("not sel_a", R"({})"), "yes");
  EXPECT_EQ(eql_of(std::string(d) + "condition: sel_a | count() > 5"),
            "ERR 14:14 condition: '|' aggregations (count() by ...) are deprecated and not "
            "supported; write a correlation rule");
  EXPECT_EQ(eql_of(std::string(d) + "condition: nope"),
            "ERR 14:14 condition: no search identifier 'nope'");
  EXPECT_EQ(eql_of(std::string(d) + "condition: 1 of x*"),
            "ERR 14:14 condition: '1 of x*' names no search identifier");
  EXPECT_EQ(eql_of(std::string(d) + "condition: 2 of sel_*"),
            "ERR 14:14 condition: '2 of' is not supported (only 1 of, any of, all of)");
  EXPECT_EQ(eql_of(std::string(d) + "condition: (sel_a"), "ERR 14:14 condition: expected ')'");
}

TEST(sigma, refusals_name_the_place) {
  EXPECT_EQ(eql_of("keywords:\n  - mimikatz\ncondition: keywords"),
            "ERR 7:7 selection 'keywords' lists values without a field (keywords): they search "
            "every field of an event, which chainwatch does not");
  EXPECT_EQ(eql_of("sel:\n  X: a\ncondition: sel", "product: linux"),
            "ERR 4:3 no field mapping for logsource product=linux (config/sigma/ has no table "
            "for product 'linux')");
  EXPECT_EQ(eql_of("sel:\n  X: []\ncondition: sel"), "ERR 7:8 field 'X' has an empty value list");
  auto docs = parse_rules("title: x\ncorrelation:\n  type: event_count\n", test_maps());
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].result.error().message, "correlation rules are not supported yet");
  auto bad = parse_rules("title: [x\n", test_maps());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_TRUE(bad[0].result.error().message.starts_with("YAML: "));
}

TEST(sigma, logsources_metadata_and_documents) {
  EXPECT_EQ(eql_of("sel:\n  Image: a\ncondition: sel", "product: test\ncategory: process_creation"),
            R"(process where event.type in~ ("start") and process.executable in~ ("a"))");
  // A logsource's own field names win over the product's.
  EXPECT_EQ(eql_of("sel:\n  CommandLine: a\ncondition: sel", "product: test\nservice: security"),
            R"(any where winlog.channel in~ ("Security") and cmd in~ ("a"))");
  auto docs = parse_rules(R"(title: one
id: 11
status: test
level: high
tags: [attack.execution, attack.t1059]
logsource: {product: test}
detection: {sel: {X: a}, condition: sel}
---
title: two
logsource: {product: test}
detection: {sel: {X: b}, condition: sel}
)",
                          test_maps());
  ASSERT_EQ(docs.size(), 2u);
  ASSERT_TRUE(docs[0].result.has_value());
  EXPECT_EQ(docs[0].result->id, "11");
  EXPECT_EQ(docs[0].result->level, "high");
  EXPECT_EQ(docs[0].result->tags, (std::vector<std::string>{"attack.execution", "attack.t1059"}));
  ASSERT_TRUE(docs[1].result.has_value());
  EXPECT_EQ(docs[1].result->title, "two");
  EXPECT_EQ(docs[1].line, 9u);
}

TEST(sigma, unmapped_fields_can_be_refused) {
  mapping m;
  auto p = parse_mapping("[pipeline]\nproduct = \"p\"\nrefuse_unmapped = true\n[fields]\n"
                         "Image = \"process.executable\"\n",
                         "p.toml");
  ASSERT_TRUE(p.has_value());
  m.products.push_back(std::move(*p));
  auto docs = parse_rules("title: t\nlogsource: {product: p}\ndetection:\n  sel:\n"
                          "    Image: a\n    a0: b\n  condition: sel\n",
                          m);
  ASSERT_EQ(docs.size(), 1u);
  ASSERT_FALSE(docs[0].result.has_value());
  EXPECT_EQ(docs[0].result.error().render("r.yml"),
            "r.yml:6:5: field 'a0' has no mapping for product p (config/sigma/p.toml)");
  // A dotted name is taken as the ECS field itself.
  auto ok = parse_rules("title: t\nlogsource: {product: p}\ndetection: {sel: {host.name: x}, "
                        "condition: sel}\n",
                        m);
  ASSERT_TRUE(ok[0].result.has_value());
}

// Found by sigma_fuzz: yaml-cpp 0.7's LoadAll loops forever (allocating) on a document that
// starts with `,`; it is a YAML error now.
TEST(sigma, a_stream_yaml_cpp_would_loop_on_is_an_error) {
  for (std::string_view text : {",", "!,", "---\n,\n", "title: t\n---\n,\n"}) {
    auto docs = parse_rules(text, test_maps());
    ASSERT_FALSE(docs.empty()) << text;
    ASSERT_FALSE(docs.back().result.has_value()) << text;
    EXPECT_TRUE(docs.back().result.error().message.starts_with("YAML: ")) << text;
  }
  auto two = parse_rules("title: a\n---\n---\ntitle: b\n", test_maps());
  EXPECT_EQ(two.size(), 2u);
}

// Found by sigma_fuzz: a field with an empty path segment printed as `a[-1].b`, a field with a
// line break as a backquoted name that cannot hold one; neither parsed back.
TEST(sigma, fields_eql_cannot_name_are_refused) {
  for (std::string_view field : {"a..b", "a.", ".a", "\"a\\nb\""}) {
    const std::string got =
        eql_of(std::string("sel:\n  ") + std::string(field) + ": x\ncondition: sel");
    EXPECT_TRUE(got.starts_with("ERR ") && got.ends_with("is not a field name EQL can use"))
        << field << ": " << got;
  }
  const std::string ref = eql_of("sel:\n  Image|fieldref: a..b\ncondition: sel");
  EXPECT_TRUE(ref.ends_with("is not a field name EQL can use")) << ref;
  EXPECT_EQ(eql_of("sel:\n  a.b: x\ncondition: sel"), "any where a.b in~ (\"x\")");
}

// A probe through sigma_fuzz: YAML aliases repeat a value without its text, so a 2 KB rule asked
// for gigabytes and minutes. What a rule compiles to is bounded (4 MiB of values).
TEST(sigma, a_rule_compiling_to_too_much_is_refused) {
  std::string yaml = "title: t\nlogsource: {product: test}\nv: &v " + std::string(1000, 'x') +
                     "\ndetection:\n  sel:\n    CommandLine|contains: [*v";
  for (int i = 0; i < 5000; ++i)
    yaml += ", *v";
  yaml += "]\n  condition: sel\n";
  auto docs = parse_rules(yaml, test_maps());
  ASSERT_EQ(docs.size(), 1u);
  ASSERT_FALSE(docs[0].result.has_value());
  EXPECT_NE(docs[0].result.error().message.find("more than 4 MiB"), std::string::npos)
      << docs[0].result.error().message;
  // A condition repeating a large selection counts each repetition.
  std::string big = "title: t\nlogsource: {product: test}\nv: &v " + std::string(1000, 'x') +
                    "\ndetection:\n  sel:\n    CommandLine: [*v";
  for (int i = 0; i < 1000; ++i)
    big += ", *v";
  big += "]\n  condition: sel";
  for (int i = 0; i < 5; ++i)
    big += " and sel";
  auto repeated = parse_rules(big + "\n", test_maps());
  ASSERT_FALSE(repeated[0].result.has_value());
  EXPECT_NE(repeated[0].result.error().message.find("more than 4 MiB"), std::string::npos);
}

TEST(sigma, mapping_tables_are_checked) {
  EXPECT_FALSE(parse_mapping("[pipeline]\n", "x.toml"));
  EXPECT_EQ(
      parse_mapping("[pipeline]\nproduct = \"p\"\n[[logsource]]\nwhere = {a = \"b\"}\n", "x.toml")
          .error()
          .message,
      "[[logsource]] needs a category or a service");
}

} // namespace
} // namespace chainwatch::sigma
