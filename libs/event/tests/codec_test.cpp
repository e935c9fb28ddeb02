#include <chainwatch/event/event.hpp>
#include <cmath>
#include <cstdio>
#include <gtest/gtest.h>
#include <limits>

namespace ev = chainwatch::event;

namespace {

ev::event parse(std::string_view json) {
  ev::json_decoder d;
  auto r = d.decode(json);
  EXPECT_TRUE(r.has_value()) << json << ": " << (r ? "" : r.error().reason);
  return r ? std::move(*r) : ev::event{};
}

std::string via_msgpack(const ev::event& e) {
  std::string bytes;
  ev::append_msgpack(bytes, e);
  auto back = ev::from_msgpack(bytes);
  EXPECT_TRUE(back.has_value()) << (back ? "" : back.error().reason);
  if (!back) return "<error>";
  EXPECT_EQ(*back, e);
  return ev::to_json(*back);
}

// JSON -> event -> JSON, then checks JSON -> event -> msgpack -> event -> JSON is identical.
std::string round_trip(std::string_view json) {
  auto e = parse(json);
  std::string out = ev::to_json(e);
  EXPECT_EQ(parse(out), e) << out;
  EXPECT_EQ(via_msgpack(e), out);
  return out;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

} // namespace

TEST(event_json, exact_round_trips) {
  for (std::string_view text : {
           R"({})",
           R"([])",
           R"({"a":{},"b":[],"c":[{}],"d":[[]]})",
           R"(null)",
           R"(true)",
           R"(7)",
           R"("s")",
           R"({"a":1,"b":-1,"c":0,"d":9223372036854775807,"e":-9223372036854775808})",
           R"({"z":1,"a":2,"m":3})",
           R"({"dup":1,"dup":2})",
           R"({"":"empty key"})",
           R"({"x":[1,2.5,"three",null,true,false,{"y":[]}]})",
           R"({"Keywords":-9214364837600034816})",
       })
    EXPECT_EQ(round_trip(text), text);
}

TEST(event_json, whitespace_is_dropped) {
  EXPECT_EQ(round_trip(" {\n \"a\" : [ 1 , 2 ] ,\t\"b\":{ } } "), R"({"a":[1,2],"b":{}})");
}

TEST(event_json, doubles_use_shortest_round_trip_form) {
  EXPECT_EQ(round_trip(R"([1.0,0.1,-0.0,1e20,1.5e-7,3.141592653589793,1e308,5e-324,2.0e0])"),
            R"([1.0,0.1,-0.0,1e+20,1.5e-07,3.141592653589793,1e+308,5e-324,2.0])");
  auto e = parse("[0.1]");
  EXPECT_EQ(e.root().at(0).type(), ev::kind::real);
  EXPECT_EQ(e.root().at(0).as_double(), 0.1);
}

TEST(event_json, big_integers) {
  auto e = parse(
      R"([9223372036854775807,9223372036854775808,18446744073709551615,-9223372036854775808])");
  auto r = e.root();
  EXPECT_EQ(r.at(0).type(), ev::kind::integer);
  EXPECT_EQ(r.at(0).as_int(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(r.at(1).type(), ev::kind::real);
  EXPECT_EQ(r.at(1).as_double(), 9223372036854775808.0);
  EXPECT_EQ(r.at(2).type(), ev::kind::real);
  EXPECT_EQ(r.at(3).as_int(), std::numeric_limits<std::int64_t>::min());
  std::string out = ev::to_json(e);
  EXPECT_EQ(parse(out), e);
  EXPECT_EQ(via_msgpack(e), out);
}

TEST(event_json, strings_unicode_and_escapes) {
  // Escapes decode to their characters and come back in canonical form.
  EXPECT_EQ(round_trip(R"(["a\"b","back\\slash","\/","\b\f\n\r\t","\u0001\u001f","\u00e9\u4e2d"])"),
            "[\"a\\\"b\",\"back\\\\slash\",\"/\",\"\\b\\f\\n\\r\\t\",\"\\u0001\\u001f\","
            "\"\xc3\xa9\xe4\xb8\xad\"]");
  // Raw UTF-8 and surrogate pairs (emoji) pass through unchanged.
  EXPECT_EQ(round_trip("{\"k\xc3\xa9y\":\"\xf0\x9f\x98\x80 \xe2\x80\xa8\"}"),
            "{\"k\xc3\xa9y\":\"\xf0\x9f\x98\x80 \xe2\x80\xa8\"}");
  auto e = parse(R"(["\ud83d\ude00"])");
  EXPECT_EQ(e.root().at(0).as_string(), "\xf0\x9f\x98\x80");
  auto zero = parse(R"(["a\u0000b"])");
  EXPECT_EQ(zero.root().at(0).as_string(), std::string_view("a\0b", 3));
  EXPECT_EQ(ev::to_json(zero), R"(["a\u0000b"])");
  std::string out;
  ev::append_json_string(out, std::string_view("\x7f\x1b", 2));
  EXPECT_EQ(out, "\"\x7f\\u001b\"");
}

TEST(event_json, depth_limit) {
  ev::json_decoder d;
  ev::decode_limits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(d.decode(nested(3), limits).has_value());
  auto r = d.decode(nested(4), limits);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().reason.find("max_depth 3"), std::string::npos) << r.error().reason;
  EXPECT_TRUE(d.decode(R"({"a":{"b":{"c":1}}})", limits).has_value());
  EXPECT_FALSE(d.decode(R"({"a":{"b":{"c":{}}}})", limits).has_value());
  // Default limit is 64; the decoder recovers after errors.
  EXPECT_TRUE(d.decode(nested(64)).has_value());
  EXPECT_FALSE(d.decode(nested(65)).has_value());
  EXPECT_FALSE(d.decode(nested(100000)).has_value());
  EXPECT_EQ(ev::to_json(*d.decode(R"({"ok":1})")), R"({"ok":1})");
}

TEST(event_json, size_limit) {
  ev::json_decoder d;
  ev::decode_limits limits;
  limits.max_bytes = 10;
  auto r = d.decode(R"({"abc":"defgh"})", limits);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().reason.find("max_bytes"), std::string::npos);
  EXPECT_EQ(r.error().offset, 10u);
  EXPECT_TRUE(d.decode(R"({"a":"b"})", limits).has_value());
}

TEST(event_json, invalid_input_is_an_error) {
  ev::json_decoder d;
  for (std::string_view bad : {"",
                               " ",
                               "{",
                               "}",
                               "[1,]",
                               R"({"a":})",
                               R"({"a" 1})",
                               R"({a:1})",
                               "[1 2]",
                               "tru",
                               "nul",
                               "01",
                               "1.",
                               "-",
                               "1e",
                               "[\"\\x\"]",
                               "[\"\\ud800\"]",
                               "\"unterminated",
                               "{}{}",
                               "[1]x",
                               "\"\x80\"",
                               "\"\xc3\x28\"",
                               "1e999",
                               "[\"\x01\"]",
                               "NaN",
                               "Infinity"}) {
    auto r = d.decode(bad);
    EXPECT_FALSE(r.has_value()) << "accepted: " << bad;
    if (!r) {
      EXPECT_FALSE(r.error().reason.empty());
    }
  }
  EXPECT_TRUE(d.decode("[1]").has_value());
}

TEST(event_json, invalid_input_reports_offset) {
  ev::json_decoder d;
  struct case_t {
    std::string_view text;
    std::size_t offset;
  };
  for (auto [text, offset] : {case_t{R"({"a":1,])", 7}, case_t{"[1,2,,3]", 5},
                              case_t{R"({"a" 1})", 5}, case_t{"[1 2]", 3}, case_t{"[1]x", 3},
                              case_t{R"({"a":[1,{"b":01}]})", 13}, case_t{R"(["\x"])", 5}}) {
    auto r = d.decode(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().offset, offset) << text << ": " << r.error().reason;
    EXPECT_NE(r.error().reason.find("near byte"), std::string::npos);
  }
}

TEST(event_json, decode_into_embeds_and_rolls_back) {
  ev::json_decoder d;
  ev::builder b;
  b.begin_object().key("raw").string("x").key("parsed");
  ASSERT_TRUE(d.decode_into(R"({"a":[1,2]})", b).has_value());
  b.key("bad");
  EXPECT_FALSE(d.decode_into(R"({"a":[1,)", b).has_value());
  ev::decode_limits shallow;
  shallow.max_depth = 1;
  EXPECT_FALSE(d.decode_into(R"({"a":[1]})", b, shallow).has_value());
  b.null();
  b.end_object();
  auto e = b.finish();
  EXPECT_EQ(ev::to_json(e), R"({"raw":"x","parsed":{"a":[1,2]},"bad":null})");
  EXPECT_EQ(e.root().size(), 3u);
}

TEST(event_json, decoder_is_movable) {
  ev::json_decoder a;
  ASSERT_TRUE(a.decode("[1]").has_value());
  ev::json_decoder b = std::move(a);
  EXPECT_EQ(ev::to_json(*b.decode(R"({"x":2})")), R"({"x":2})");
}

TEST(event_json, non_finite_reals_encode_as_null) {
  ev::builder b;
  b.begin_array()
      .real(std::numeric_limits<double>::quiet_NaN())
      .real(std::numeric_limits<double>::infinity())
      .real(-std::numeric_limits<double>::infinity())
      .end_array();
  auto e = b.finish();
  EXPECT_EQ(ev::to_json(e), "[null,null,null]");
  // msgpack keeps them exactly.
  std::string bytes;
  ev::append_msgpack(bytes, e);
  auto back = ev::from_msgpack(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, e);
  EXPECT_TRUE(std::isnan(back->root().at(0).as_double()));
}

TEST(event_msgpack, encodes_compact_forms) {
  auto e = parse(R"({"a":[0,-1,127,128,-33,65536,-2147483649,true,null,"s"]})");
  std::string bytes;
  ev::append_msgpack(bytes, e);
  static constexpr char raw[] =
      "\x81\xa1"
      "a\x9a\x00\xff\x7f\xcc\x80\xd0\xdf\xce\x00\x01\x00\x00\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"
      "\xc3\xc0\xa1s";
  const std::string expected(raw, sizeof(raw) - 1);
  EXPECT_EQ(bytes, expected);
  // Appends after what the string holds (the normalizer reuses one buffer).
  ev::append_msgpack(bytes, e);
  EXPECT_EQ(bytes, expected + expected);
}

TEST(event_msgpack, round_trips_large_containers_and_strings) {
  ev::builder b;
  b.begin_object();
  for (int i = 0; i < 70000; ++i)
    b.key("k" + std::to_string(i % 100)).integer(i);
  b.key("long").string(std::string(70000, 'x'));
  b.key("mid").string(std::string(300, 'y'));
  b.key("arr").begin_array();
  for (int i = 0; i < 20; ++i)
    b.integer(-i * 1000000000LL);
  b.end_array();
  b.end_object();
  auto e = b.finish();
  std::string bytes;
  ev::append_msgpack(bytes, e);
  ev::decode_limits big;
  big.max_bytes = 16 << 20;
  auto back = ev::from_msgpack(bytes, big);
  ASSERT_TRUE(back.has_value()) << back.error().reason;
  EXPECT_EQ(*back, e);
}

TEST(event_msgpack, truncated_and_hostile_input_is_an_error) {
  auto e = parse(R"({"a":[1,2.5,"xyz",{"b":null}],"c":"dddddddddddddddddddddddddddddddddddd"})");
  std::string bytes;
  ev::append_msgpack(bytes, e);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = ev::from_msgpack(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(r.has_value()) << "prefix " << n;
  }
  ASSERT_TRUE(ev::from_msgpack(bytes).has_value());
  auto trailing = ev::from_msgpack(bytes + "\xc0");
  ASSERT_FALSE(trailing.has_value());
  EXPECT_EQ(trailing.error().offset, bytes.size());

  using namespace std::string_literals;
  for (const std::string& bad : {
           "\xdd\xff\xff\xff\xff"s,      // array32 claiming 4G elements
           "\xdf\xff\xff\xff\xff\xa1k"s, // map32 claiming 4G members
           "\xdb\xff\xff\xff\xff"s,      // str32 longer than the input
           "\x81\xcd\xff\xff\x02"s,      // a key code no build knows
           "\x81\xff\x02"s,              // negative integer map key
           "\xc1"s,                      // never-used tag
           "\xd4\x01\x02"s,              // fixext
           "\xa2\xc3\x28"s,              // invalid UTF-8
           "\x81\xa2\xff\xfe\x01"s,      // invalid UTF-8 key
       }) {
    auto r = ev::from_msgpack(bad);
    EXPECT_FALSE(r.has_value());
  }
  auto wrong = ev::from_msgpack("\x81\xcd\x7f\xff\x02"s);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().offset, 1u);
  EXPECT_EQ(wrong.error().reason, "unknown key code 32767");
  auto not_key = ev::from_msgpack("\x81\xc3\x02"s);
  ASSERT_FALSE(not_key.has_value());
  EXPECT_EQ(not_key.error().offset, 1u);
  EXPECT_NE(not_key.error().reason.find("key"), std::string::npos);
}

// Coded keys are part of the wire format and of stored checkpoints: codes never move.
TEST(event_msgpack, common_keys_travel_as_fixed_codes_and_names_on_request) {
  auto code = [](std::string_view name) { return ev::symbols::code(ev::symbols::intern(name)); };
  EXPECT_EQ(code("@timestamp"), 0u + 1);
  EXPECT_EQ(code("event"), 1u + 1);
  EXPECT_EQ(code("category"), 2u + 1);
  EXPECT_EQ(code("user"), 20u + 1);
  EXPECT_EQ(code("name"), 21u + 1);
  EXPECT_EQ(code("class"), 127u + 1);
  EXPECT_EQ(code("response_code"), 128u + 1);
  EXPECT_EQ(code("resp_p"), 233u + 1);
  EXPECT_EQ(code("not.a.coded.key"), 0u);
  EXPECT_EQ(ev::symbols::name(ev::symbols::of_code(233)), "resp_p");
  EXPECT_EQ(ev::symbols::of_code(234), 0u);

  using namespace std::string_literals;
  auto e = parse(R"({"user":{"name":"x","zz":1},"response_code":2})");
  std::string coded, named;
  ev::append_msgpack(coded, e);
  ev::append_msgpack(named, e, ev::msgpack_keys::names);
  EXPECT_EQ(coded, "\x82\x14\x82\x15\xa1x\xa2zz\x01\xcc\x80\x02"s);
  EXPECT_EQ(named, "\x82\xa4user\x82\xa4name\xa1x\xa2zz\x01\xadresponse_code\x02"s);
  for (const auto& bytes : {coded, named}) {
    auto back = ev::from_msgpack(bytes);
    ASSERT_TRUE(back.has_value()) << back.error().reason;
    EXPECT_EQ(*back, e);
  }
  // An event kept as its (coded) bytes is spelled out for msgpack_keys::names.
  std::string again;
  ev::append_msgpack(again, ev::event::encoded(coded), ev::msgpack_keys::names);
  EXPECT_EQ(again, named);
}

TEST(event_msgpack, depth_and_size_limits) {
  std::string deep(100, '\x91');
  deep.push_back('\xc0');
  auto r = ev::from_msgpack(deep);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().reason.find("max_depth"), std::string::npos);
  ev::decode_limits limits;
  limits.max_depth = 128;
  EXPECT_TRUE(ev::from_msgpack(deep, limits).has_value());
  limits.max_bytes = 50;
  EXPECT_FALSE(ev::from_msgpack(deep, limits).has_value());
}

TEST(event_msgpack, accepts_other_encoders_forms) {
  using namespace std::string_literals;
  // float32, uint64 above INT64_MAX, bin8 and str8 keys.
  auto r = ev::from_msgpack("\x84\xa1"
                            "f\xca\x3f\xc0\x00\x00"
                            "\xd9\x01u\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
                            "\xa1"
                            "b\xc4\x02hi"
                            "\xa1i\xd1\xff\x00"s);
  ASSERT_TRUE(r.has_value()) << r.error().reason;
  EXPECT_EQ(ev::to_json(*r), R"({"f":1.5,"u":18446744073709551616.0,"b":"hi","i":-256})");
}

TEST(event_json, string_escaping_matches_reference_at_every_position) {
  auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
      }
    }
    return out + "\"";
  };
  for (std::size_t len = 1; len <= 24; ++len)
    for (std::size_t pos = 0; pos < len; ++pos)
      for (char special : std::string_view("\"\\\x01\x1f\x7f\xc3 \n\x00", 9)) {
        std::string s(len, 'a');
        s[pos] = special;
        std::string out;
        ev::append_json_string(out, s);
        ASSERT_EQ(out, reference(s)) << "len " << len << " pos " << pos;
      }
}

TEST(event_msgpack, an_encoded_event_is_its_bytes_and_has_no_fields) {
  ev::json_decoder dec;
  auto e = dec.decode(R"({"user":{"name":"bob"},"n":[1,2.5,null]})");
  ASSERT_TRUE(e.has_value());
  std::string bytes;
  ev::append_msgpack(bytes, *e);
  auto enc = ev::event::encoded(bytes);
  EXPECT_TRUE(enc.is_encoded());
  EXPECT_FALSE(enc.empty());
  EXPECT_FALSE(enc.get(ev::field_path("user.name")).exists());
  EXPECT_FALSE(enc.root().exists());
  std::string again;
  ev::append_msgpack(again, enc);
  EXPECT_EQ(again, bytes); // written back as they are
  auto back = ev::from_msgpack(again);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, *e);
  EXPECT_TRUE(ev::event::encoded("").empty());
  EXPECT_FALSE(ev::event{}.is_encoded());
}
