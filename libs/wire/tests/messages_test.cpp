#include "chainwatch/wire/codec.hpp"
#include "chainwatch/wire/messages.hpp"
#include "chainwatch/wire/partition.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <random>

using namespace chainwatch::wire;

namespace {

std::string blob(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + i * 7);
  return s;
}

raw_batch sample_raw() {
  raw_batch b{"acme", "zeek.conn", 1'700'000'000'123'456'789, {}, {}, {}};
  b.records.push_back({"{\"ts\":1}", std::string("id-1"), 42});
  b.records.push_back({"", std::nullopt, std::nullopt});
  b.records.push_back({blob(70'000, 3), std::nullopt, std::numeric_limits<std::uint64_t>::max()});
  return b;
}

event_batch sample_events() {
  event_batch b{"acme", "windows.security", {}};
  b.events.push_back({-5, 0, blob(10, 1), std::nullopt});
  b.events.push_back({std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::int64_t>::max(), blob(300, 2), blob(40, 9)});
  for (int i = 0; i < 20; ++i)
    b.events.push_back(
        {1'700'000'000'000'000'000 + i, 1'700'000'000'000'000'000, blob(100, 'a'), std::nullopt});
  // Routed by the normalizer: keys with their hits, an event-query match, no key at all.
  b.events[2].rules = 0xfeedfacecafebeefULL;
  b.events[2].routes = {{"[\"host-1\"]", {3, 4, 9}}, {"[\"alice\"]", {}}, {blob(5, 0), {7}}};
  b.events[3].rules = 1;
  b.events[3].event_rules = true;
  b.events[4].rules = std::numeric_limits<std::uint64_t>::max();
  b.events[4].routes = {{"", {std::numeric_limits<std::uint32_t>::max()}}};
  b.events[4].event_rules = true;
  b.events[5].routes = {{"k", {1}}}; // without a fingerprint: meaningless, but kept (wire_fuzz)
  b.events[6].event_rules = true;
  return b;
}

partition_batch sample_partition() {
  partition_batch b{7, {}};
  b.items.emplace_back(partition_event{"acme",
                                       key_hash("acme", "host-1"),
                                       "host-1",
                                       100,
                                       200,
                                       blob(64, 5),
                                       0xfeedfacecafebeefULL,
                                       {7, 0, 4'000'000'000u}});
  b.items.emplace_back(watermark_marker{"acme", 90, 1'795'000'000'123'456'789}); // emitted then
  b.items.emplace_back(partition_event{"beta", 1, std::string("\0\xff", 2), -1, 0, "", 0, {}});
  b.items.emplace_back(partition_event{"beta", 2, "k", 0, 0, "e", 5, {}}); // a fingerprint alone
  b.items.emplace_back(watermark_marker{"beta", std::numeric_limits<std::int64_t>::min()});
  // Moved by the wall clock; the end of input with the latest event time; both appended fields.
  b.items.emplace_back(watermark_marker{"acme", 95, 0, true});
  b.items.emplace_back(
      watermark_marker{"acme", std::numeric_limits<std::int64_t>::max(), 7, false, 94});
  return b;
}

match_batch sample_matches() {
  match_batch b{"acme", {}};
  b.matches.push_back({"rule-1", "host-1", {blob(20, 1), blob(30, 2)}, 10, 20, 15, 42});
  b.matches.push_back({"rule-2", "", {}, 0, 0, 0, 0});        // the marker's wall clock unknown
  b.matches.push_back({"rule-3", "k", {}, 1, 2, 3, 0, true}); // decided by idle sources
  return b;
}

dead_letter sample_dead() {
  return {"acme", "zeek.conn", "normalizer", "json_syntax", "missing '}'", 17, "{\"a\":", 99};
}

late_event sample_late() {
  return {"acme", "host-1", 10, 20, 30, blob(50, 4), {}};
}

// Every prefix of a valid message must decode to an error, never crash or succeed.
template <class Decode>
void expect_prefixes_fail(const std::string& bytes, Decode decode) {
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.has_value()) << "prefix of " << n << " bytes decoded";
  }
}

} // namespace

TEST(wire_messages, raw_batch_round_trip) {
  auto msg = sample_raw();
  auto bytes = encode(msg);
  auto back = decode_raw_batch(bytes);
  ASSERT_TRUE(back.has_value()) << to_string(back.error());
  EXPECT_EQ(*back, msg);
  EXPECT_EQ(*peek_kind(bytes), kind::raw_batch);
  // With where the records come from and the stream header before them (appended fields).
  msg.origin = "ssh.log";
  msg.header = {"#separator \\x09", "#fields\tts\tuid", "#types\ttime\tstring"};
  auto with = decode_raw_batch(encode(msg));
  ASSERT_TRUE(with.has_value()) << to_string(with.error());
  EXPECT_EQ(*with, msg);
  msg.origin.clear(); // a header alone is written too
  auto header_only = decode_raw_batch(encode(msg));
  ASSERT_TRUE(header_only.has_value());
  EXPECT_EQ(*header_only, msg);
  expect_prefixes_fail(encode(msg), decode_raw_batch);
}

TEST(wire_messages, event_batch_round_trip) {
  auto msg = sample_events();
  auto back = decode_event_batch(encode(msg));
  ASSERT_TRUE(back.has_value()) << to_string(back.error());
  EXPECT_EQ(*back, msg);
}

TEST(wire_messages, event_batch_view_sees_what_the_copying_decoder_copies) {
  auto msg = sample_events();
  for (int big = 0; big < 2; ++big) {
    if (big) // large enough to travel as a frame: views into the decompression buffer
      for (int i = 0; i < 50; ++i)
        msg.events.push_back({i, i + 1, std::string(100, static_cast<char>('a' + i % 26)),
                              i % 2 ? std::optional<std::string>("raw") : std::nullopt});
    auto bytes = encode(msg);
    auto view = decode_event_batch_view(bytes);
    ASSERT_TRUE(view.has_value()) << to_string(view.error());
    EXPECT_EQ(view->customer, msg.customer);
    EXPECT_EQ(view->source, msg.source);
    ASSERT_EQ(view->events.size(), msg.events.size());
    for (std::size_t i = 0; i < msg.events.size(); ++i) {
      EXPECT_EQ(view->events[i].event_ns, msg.events[i].event_ns);
      EXPECT_EQ(view->events[i].ingest_ns, msg.events[i].ingest_ns);
      EXPECT_EQ(view->events[i].event, msg.events[i].event);
      EXPECT_EQ(view->events[i].raw.has_value(), msg.events[i].raw.has_value());
      if (msg.events[i].raw) {
        EXPECT_EQ(*view->events[i].raw, *msg.events[i].raw);
      }
      EXPECT_EQ(view->events[i].rules, msg.events[i].rules);
      EXPECT_EQ(view->events[i].event_rules, msg.events[i].event_rules);
      auto routes = view->routes_of(view->events[i]);
      ASSERT_EQ(routes.size(), msg.events[i].routes.size()) << i;
      for (std::size_t k = 0; k < routes.size(); ++k) {
        EXPECT_EQ(routes[k].key, msg.events[i].routes[k].key);
        auto hits = view->hits_of(routes[k]);
        EXPECT_EQ(std::vector<std::uint32_t>(hits.begin(), hits.end()),
                  msg.events[i].routes[k].hits);
      }
    }
  }
}

// The matcher hands the views of a whole fetch to its actor: each message decompresses into its
// own buffer, so decoding the next one must not change the views of the first.
TEST(wire_messages, partition_batch_views_in_their_own_buffers_outlive_the_next_decode) {
  std::vector<partition_batch> msgs(2, sample_partition());
  for (int m = 0; m < 2; ++m)
    for (std::uint32_t i = 0; i < 40; ++i) // large enough to travel as a frame
      msgs[m].items.emplace_back(
          partition_event{m ? "second" : "first",
                          i,
                          "key-" + std::to_string(i),
                          i,
                          i,
                          std::string(120, static_cast<char>('a' + (i + m) % 26)),
                          9,
                          {i, i + m, 3}});
  std::vector<std::string> wire_bytes, buffers(2);
  std::vector<partition_batch_view> views;
  for (int m = 0; m < 2; ++m) {
    wire_bytes.push_back(encode(msgs[m]));
    ASSERT_TRUE(wire_bytes.back().size() < 4000) << "expected a frame";
  }
  for (int m = 0; m < 2; ++m) {
    auto v = decode_partition_batch_view(wire_bytes[m], buffers[m]);
    ASSERT_TRUE(v.has_value()) << to_string(v.error());
    views.push_back(std::move(*v));
  }
  for (int m = 0; m < 2; ++m) {
    ASSERT_EQ(views[m].partition, msgs[m].partition);
    ASSERT_EQ(views[m].items.size(), msgs[m].items.size());
    for (std::size_t i = 0; i < msgs[m].items.size(); ++i) {
      const auto* want = std::get_if<partition_event>(&msgs[m].items[i]);
      const auto* got = std::get_if<partition_event_view>(&views[m].items[i]);
      ASSERT_EQ(want == nullptr, got == nullptr) << m << " " << i;
      if (!want) {
        EXPECT_EQ(std::get<watermark_marker_view>(views[m].items[i]).customer,
                  std::get<watermark_marker>(msgs[m].items[i]).customer);
        continue;
      }
      EXPECT_EQ(got->customer, want->customer);
      EXPECT_EQ(got->key_hash, want->key_hash);
      EXPECT_EQ(got->key, want->key);
      EXPECT_EQ(got->event_ns, want->event_ns);
      EXPECT_EQ(got->ingest_ns, want->ingest_ns);
      EXPECT_EQ(got->event, want->event);
      EXPECT_EQ(got->rules, want->rules);
      auto hits = views[m].hits_of(*got);
      EXPECT_EQ(std::vector<std::uint32_t>(hits.begin(), hits.end()), want->hits);
    }
  }
}

TEST(wire_messages, partition_batch_round_trip) {
  auto msg = sample_partition();
  auto back = decode_partition_batch(encode(msg));
  ASSERT_TRUE(back.has_value()) << to_string(back.error());
  EXPECT_EQ(*back, msg);
}

TEST(wire_messages, match_batch_round_trip) {
  auto msg = sample_matches();
  auto back = decode_match_batch(encode(msg));
  ASSERT_TRUE(back.has_value()) << to_string(back.error());
  EXPECT_EQ(*back, msg);
}

TEST(wire_messages, markers_and_matches_from_an_older_writer_decode_without_a_wall_clock) {
  // Before markers carried their emission wall clock: a marker was [1, customer, watermark] and a
  // match six fields. Such bytes decode with wall clock 0, and a wall clock of 0 is written so.
  std::string part;
  {
    writer w(part);
    w.array(4);
    w.uint(static_cast<unsigned>(kind::partition_batch));
    w.uint(schema_version);
    w.uint(3);
    w.array(1);
    w.array(3);
    w.uint(1);
    w.str("acme");
    w.sint(90);
  }
  auto p = decode_partition_batch(part);
  ASSERT_TRUE(p.has_value()) << to_string(p.error());
  ASSERT_EQ(p->items.size(), 1u);
  EXPECT_EQ(std::get<watermark_marker>(p->items[0]), (watermark_marker{"acme", 90, 0}));
  EXPECT_EQ(encode(*p), part);

  std::string matches;
  {
    writer w(matches);
    w.array(4);
    w.uint(static_cast<unsigned>(kind::match_batch));
    w.uint(schema_version);
    w.str("acme");
    w.array(1);
    w.array(6);
    w.str("rule-1");
    w.bin("host-1");
    w.array(0);
    w.sint(10);
    w.sint(20);
    w.sint(15);
  }
  auto m = decode_match_batch(matches);
  ASSERT_TRUE(m.has_value()) << to_string(m.error());
  ASSERT_EQ(m->matches.size(), 1u);
  EXPECT_EQ(m->matches[0].watermark_ns, 15);
  EXPECT_EQ(m->matches[0].watermark_wall_ns, 0);
  EXPECT_EQ(encode(*m), matches);
}

TEST(wire_messages, dead_letter_and_late_event_round_trip) {
  auto dead = sample_dead();
  auto d = decode_dead_letter(encode(dead));
  ASSERT_TRUE(d.has_value()) << to_string(d.error());
  EXPECT_EQ(*d, dead);
  auto late = sample_late();
  auto l = decode_late_event(encode(late));
  ASSERT_TRUE(l.has_value()) << to_string(l.error());
  EXPECT_EQ(*l, late);
  late.reason = "skew";
  auto skew = decode_late_event(encode(late));
  ASSERT_TRUE(skew.has_value()) << to_string(skew.error());
  EXPECT_EQ(skew->reason, "skew");
}

TEST(wire_messages, partition_checkpoint_round_trip_and_truncation_fails) {
  partition_checkpoint c{.partition = 7,
                         .node = "host-42",
                         .sequence = 123456789,
                         .time_ns = -5,
                         .customers = {{"acme", 1'700'000'000'000'000'000, std::string("\0\1x", 3)},
                                       {"beta", INT64_MAX, ""}}};
  auto bytes = encode(c);
  auto d = decode_partition_checkpoint(bytes);
  ASSERT_TRUE(d.has_value()) << to_string(d.error());
  EXPECT_EQ(*d, c);
  EXPECT_EQ(*peek_kind(bytes), kind::partition_checkpoint);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_partition_checkpoint(bytes.substr(0, n)).has_value()) << n;
}

TEST(wire_messages, empty_batches_round_trip) {
  EXPECT_EQ(*decode_raw_batch(encode(raw_batch{})), raw_batch{});
  EXPECT_EQ(*decode_event_batch(encode(event_batch{})), event_batch{});
  EXPECT_EQ(*decode_partition_batch(encode(partition_batch{})), partition_batch{});
  EXPECT_EQ(*decode_match_batch(encode(match_batch{})), match_batch{});
}

TEST(wire_messages, wrong_kind_is_rejected) {
  auto bytes = encode(sample_raw());
  auto r = decode_event_batch(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::bad_kind);
}

TEST(wire_messages, wrong_version_is_rejected) {
  auto bytes = encode(sample_dead());
  bytes[2] = 9; // envelope: fixarray, kind, version
  auto r = decode_dead_letter(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::bad_version);
}

TEST(wire_messages, trailing_bytes_are_rejected) {
  auto bytes = encode(sample_late());
  bytes.push_back('\0');
  auto r = decode_late_event(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::trailing_bytes);
  EXPECT_EQ(r.error().offset, bytes.size() - 1);
}

TEST(wire_messages, newer_writer_extra_fields_are_skipped) {
  // A late_event from a future writer with one more envelope field (a map).
  late_event ev = sample_late();
  std::string bytes;
  writer w(bytes);
  w.array(10);
  w.uint(static_cast<unsigned>(kind::late_event));
  w.uint(schema_version);
  w.str(ev.customer);
  w.bin(ev.key);
  w.sint(ev.event_ns);
  w.sint(ev.watermark_ns);
  w.sint(ev.ingest_ns);
  w.bin(ev.event);
  w.str(ev.reason);
  bytes.push_back(static_cast<char>(0x81)); // {"x": [1, nil]}
  w.str("x");
  w.array(2);
  w.uint(1);
  w.nil();
  auto r = decode_late_event(bytes);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  EXPECT_EQ(*r, ev);
}

TEST(wire_messages, every_truncation_fails) {
  expect_prefixes_fail(encode(sample_raw()), decode_raw_batch);
  expect_prefixes_fail(encode(sample_events()), decode_event_batch);
  expect_prefixes_fail(encode(sample_partition()), decode_partition_batch);
  expect_prefixes_fail(encode(sample_matches()), decode_match_batch);
  expect_prefixes_fail(encode(sample_dead()), decode_dead_letter);
  expect_prefixes_fail(encode(sample_late()), decode_late_event);
}

TEST(wire_messages, huge_declared_lengths_fail_without_allocating) {
  // array32 claiming 4G elements, bin32 claiming 4 GiB.
  std::string bytes = "\xdd\xff\xff\xff\xff";
  EXPECT_EQ(decode_raw_batch(bytes).error().code, errc::truncated);
  std::string env;
  writer w(env);
  w.array(6);
  w.uint(static_cast<unsigned>(kind::raw_batch));
  w.uint(schema_version);
  w.str("c");
  w.str("s");
  w.sint(0);
  env += "\xdd\xff\xff\xff\xf0"; // records: 4G
  EXPECT_EQ(decode_raw_batch(env).error().code, errc::truncated);
  std::string late;
  writer lw(late);
  lw.array(8);
  lw.uint(static_cast<unsigned>(kind::late_event));
  lw.uint(schema_version);
  lw.str("c");
  late += "\xc6\xff\xff\xff\xff"; // key: 4 GiB
  EXPECT_EQ(decode_late_event(late).error().code, errc::truncated);
}

TEST(wire_messages, big_messages_travel_as_frames_of_their_codec_and_small_ones_plain) {
  event_batch b{"acme", "zeek.http", {}};
  for (int i = 0; i < 300; ++i)
    b.events.push_back({1'700'000'000'000'000'000 + i, 1'700'000'000'000'000'000,
                        R"({"event":{"category":["network"]},"source":{"ip":"10.0.0.)" +
                            std::to_string(i % 250) + R"("},"url":{"domain":"example.com"}})",
                        std::nullopt});
  std::string plain_bytes;
  append(plain_bytes, b);
  // Event and partition batches (the hot hops) travel as LZ4, raw batches, matches and
  // checkpoints as zstd.
  EXPECT_EQ(encode(b)[0], 'c') << "LZ4 frame magic";
  raw_batch raw{"acme", "zeek.http", 1, {}, {}, {}};
  for (int i = 0; i < 300; ++i)
    raw.records.push_back({"line " + std::to_string(i % 7), std::nullopt, std::nullopt});
  EXPECT_EQ(static_cast<unsigned char>(encode(raw)[0]), 0x28u) << "zstd frame magic";
  // Decoders take every form (messages from an older producer, small messages).
  ASSERT_TRUE(decode_event_batch(plain_bytes).has_value());
  auto small = sample_matches();
  std::string small_plain;
  append(small_plain, small);
  ASSERT_LT(small_plain.size(), compress_min_bytes);
  EXPECT_EQ(encode(small), small_plain);
  // Dead letters and late events stay plain whatever their size (operators' tools read them).
  auto dead = sample_dead();
  dead.raw = std::string(5000, 'x');
  std::string dead_plain;
  append(dead_plain, dead);
  EXPECT_EQ(encode(dead), dead_plain);

  for (codec c : {codec::zstd, codec::lz4}) {
    SCOPED_TRACE(c == codec::zstd ? "zstd" : "lz4");
    auto bytes = compressed(plain_bytes, c);
    EXPECT_LT(bytes.size() * 4, plain_bytes.size()) << "repetitive events compress";
    auto back = decode_event_batch(bytes);
    ASSERT_TRUE(back.has_value()) << to_string(back.error());
    EXPECT_EQ(*back, b);
    EXPECT_EQ(*peek_kind(bytes), kind::event_batch);
    // Truncated, corrupt and doubled frames are errors, never crashes.
    for (std::size_t n : {std::size_t{4}, std::size_t{12}, bytes.size() / 2, bytes.size() - 1}) {
      auto r = decode_event_batch(std::string_view(bytes).substr(0, n));
      ASSERT_FALSE(r.has_value()) << n;
    }
    auto doubled = bytes + bytes;
    auto d = decode_event_batch(doubled);
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error().code, errc::bad_compression);
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
      auto flipped = bytes;
      flipped[4 + rng() % (flipped.size() - 4)] ^= static_cast<char>(1 + rng() % 255);
      auto r = decode_event_batch(flipped);
      if (r) { // a flip the codec cannot see (LZ4 has no checksum), inside a string
        EXPECT_EQ(r->events.size(), b.events.size());
      }
    }
  }
}

TEST(wire_messages, a_frame_declaring_more_than_the_limit_is_rejected_before_allocating) {
  for (codec codec : {codec::zstd, codec::lz4}) {
    SCOPED_TRACE(codec == codec::zstd ? "zstd" : "lz4");
    std::string zeros(max_message_bytes + 1, '\0');
    compress(zeros, codec);
    ASSERT_LT(zeros.size(), std::size_t{1} << 20);
    auto r = decode_partition_checkpoint(zeros);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::too_large);
    // Batches have a tighter bound: a small frame must not make a decoder build millions of
    // records (checkpoints come from chainwatch's own KV bucket).
    std::string batch_zeros(max_batch_bytes + 1, '\0');
    compress(batch_zeros, codec);
    for (auto code :
         {decode_raw_batch(batch_zeros).error().code, decode_event_batch(batch_zeros).error().code,
          decode_partition_batch(batch_zeros).error().code,
          decode_match_batch(batch_zeros).error().code,
          decode_dead_letter(batch_zeros).error().code,
          decode_late_event(batch_zeros).error().code})
      EXPECT_EQ(code, errc::too_large);
    std::string checkpoint_sized(max_batch_bytes + 1, '\0');
    compress(checkpoint_sized, codec);
    auto c = decode_partition_checkpoint(checkpoint_sized);
    ASSERT_FALSE(c.has_value());
    EXPECT_NE(c.error().code, errc::too_large) << "checkpoints may be bigger than batches";
  }
}

TEST(wire_messages, watermark_checkpoint_round_trip_and_truncation_fails) {
  watermark_checkpoint c{.sources = {{"acme", "zeek.conn", 100, 7, 5'000'000'000, false},
                                     {"acme", "windows", INT64_MIN, 0, 0, true}},
                         .watermarks = {{"acme", -3}, {"beta", INT64_MAX}}};
  auto bytes = encode(c);
  auto d = decode_watermark_checkpoint(bytes);
  ASSERT_TRUE(d.has_value()) << to_string(d.error());
  EXPECT_EQ(*d, c);
  EXPECT_EQ(*peek_kind(bytes), kind::watermark_checkpoint);
  EXPECT_STREQ(to_string(kind::watermark_checkpoint), "watermark_checkpoint");
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_watermark_checkpoint(bytes.substr(0, n)).has_value()) << n;
  EXPECT_FALSE(decode_watermark_checkpoint(encode(sample_late())).has_value()) << "other kind";
}

TEST(wire_messages, random_garbage_and_bit_flips_never_crash) {
  std::mt19937_64 rng(12345);
  std::vector<std::string> seeds = {encode(sample_raw()),       encode(sample_events()),
                                    encode(sample_partition()), encode(sample_matches()),
                                    encode(sample_dead()),      encode(sample_late())};
  std::size_t decoded = 0;
  auto try_all = [&](std::string_view in) {
    decoded += decode_raw_batch(in).has_value();
    decoded += decode_event_batch(in).has_value();
    decoded += decode_partition_batch(in).has_value();
    decoded += decode_match_batch(in).has_value();
    decoded += decode_dead_letter(in).has_value();
    decoded += decode_late_event(in).has_value();
    (void)peek_kind(in);
    reader r(in);
    (void)r.skip();
  };
  for (int i = 0; i < 20'000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    try_all(junk);
  }
  for (const auto& seed : seeds) {
    for (int i = 0; i < 3'000; ++i) {
      auto mutated = seed;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        mutated[rng() % mutated.size()] = static_cast<char>(rng());
      try_all(mutated);
    }
  }
  SUCCEED() << decoded << " mutated inputs still decoded";
}

TEST(wire_messages, deep_nesting_is_bounded) {
  std::string deep(100'000, static_cast<char>(0x91)); // [[[[...
  deep.push_back(0x01);
  reader r(deep);
  auto s = r.skip();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, errc::too_deep);
}

TEST(wire_codec, integers_round_trip_at_every_width) {
  std::vector<std::int64_t> values = {0,
                                      1,
                                      127,
                                      128,
                                      255,
                                      256,
                                      65535,
                                      65536,
                                      4294967295,
                                      4294967296,
                                      -1,
                                      -32,
                                      -33,
                                      -128,
                                      -129,
                                      -32768,
                                      -32769,
                                      -2147483648LL,
                                      -2147483649LL,
                                      std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max()};
  std::string out;
  writer w(out);
  for (auto v : values)
    w.sint(v);
  w.uint(std::numeric_limits<std::uint64_t>::max());
  reader r(out);
  for (auto v : values) {
    auto got = r.sint();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, v);
  }
  auto big = r.uint();
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(*big, std::numeric_limits<std::uint64_t>::max());
  EXPECT_TRUE(r.at_end());
}

TEST(wire_codec, uint64_above_int64_is_not_a_signed_value) {
  std::string out;
  writer(out).uint(std::numeric_limits<std::uint64_t>::max());
  auto r = reader(out).sint();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::bad_value);
}

TEST(wire_partition, hash_is_stable_and_spreads) {
  EXPECT_EQ(key_hash("acme", "host-1"), key_hash("acme", "host-1"));
  EXPECT_NE(key_hash("acme", "host-1"), key_hash("beta", "host-1"));
  EXPECT_NE(key_hash("acme", "host-1"), key_hash("acme", "host-2"));
  std::vector<int> counts(16);
  for (int i = 0; i < 16'000; ++i)
    ++counts[partition_of(key_hash("acme", "host-" + std::to_string(i)), 16)];
  for (int c : counts) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
}

// The watermark service encodes items one by one with partition_batch_builder; its messages must
// be byte for byte what encode() makes of the same items, cut at the same limits (or the msg ids
// of a redelivered input would name different content).
TEST(wire_messages, partition_batch_builder_equals_encode_of_the_same_cut) {
  std::vector<partition_item> items;
  for (int i = 0; i < 300; ++i) {
    if (i % 37 == 0) {
      items.push_back(
          watermark_marker{"acme", 1000 + i, i % 2 ? 0 : 1'795'000'000'000'000'000 + i});
      continue;
    }
    partition_event e{.customer = i % 2 ? "acme" : "beta",
                      .key_hash = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(i),
                      .key = "[\"user" + std::to_string(i % 17) + "\"]",
                      .event_ns = -5 + i * 1'000'000'007LL,
                      .ingest_ns = i,
                      .event = std::string(static_cast<std::size_t>(20 + (i * 53) % 900), 'x'),
                      .rules = i % 3 ? 0xfeedULL : 0,
                      .hits = {}};
    if (i % 3) e.hits = {static_cast<std::uint32_t>(i), 7, 70000};
    if (i % 5 == 0) e.hits.clear(); // a fingerprint without hits keeps both fields
    items.push_back(std::move(e));
  }
  for (auto [max_items, max_bytes] : {std::pair<std::size_t, std::size_t>{1000, 512 * 1024},
                                      {16, 512 * 1024},
                                      {1000, 4096},
                                      {1, 1}}) {
    partition_batch_builder b(5, max_items, max_bytes);
    std::vector<std::string> want;
    partition_batch cur{.partition = 5, .items = {}};
    std::size_t bytes = 0;
    for (const auto& item : items) {
      auto hint = size_hint(item);
      if (!cur.items.empty() && (cur.items.size() >= max_items || bytes + hint > max_bytes)) {
        want.push_back(encode(cur));
        cur.items.clear();
        bytes = 0;
      }
      bytes += hint;
      cur.items.push_back(item);
      if (const auto* e = std::get_if<partition_event>(&item))
        b.add_event(e->customer, e->key_hash, e->key, e->event_ns, e->ingest_ns, e->event, e->rules,
                    e->hits);
      else
        b.add_marker(std::get<watermark_marker>(item).customer,
                     std::get<watermark_marker>(item).watermark_ns,
                     std::get<watermark_marker>(item).wall_ns);
    }
    want.push_back(encode(cur));
    auto got = b.finish();
    ASSERT_EQ(got.size(), want.size()) << max_items << "/" << max_bytes;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i], want[i]) << "batch " << i;
      auto back = decode_partition_batch(got[i]);
      ASSERT_TRUE(back.has_value());
    }
    EXPECT_TRUE(b.finish().empty()) << "finish resets";
  }
}

// The normalizer writes its records with event_batch_builder: byte for byte what encode() makes
// of the same records cut at the same limits, plain and routed, with and without raw bytes.
TEST(wire_messages, event_batch_builder_equals_encode_of_the_same_cut) {
  const std::string customer(40, 'c'); // a str8 header in front of the items
  std::vector<event_record> records;
  for (int i = 0; i < 300; ++i) {
    event_record r{.event_ns = -5 + i * 1'000'000'007LL,
                   .ingest_ns = i,
                   .event = std::string(static_cast<std::size_t>(20 + (i * 53) % 900), 'e'),
                   .raw = std::nullopt};
    if (i % 4 == 0) r.raw = std::string(static_cast<std::size_t>(i % 70), 'r');
    if (i % 3) {
      r.rules = 0xfeedULL;
      for (int k = 0; k < i % 4; ++k)
        r.routes.push_back({"[\"user" + std::to_string(i % 17 + k) + "\"]",
                            {static_cast<std::uint32_t>(i), 7, 70000}});
      r.event_rules = i % 2 == 0;
    }
    records.push_back(std::move(r));
  }
  for (auto [max_items, max_bytes] : {std::pair<std::size_t, std::size_t>{1000, 512 * 1024},
                                      {16, 512 * 1024},
                                      {1000, 4096},
                                      {1, 1}}) {
    event_batch_builder b(customer, "zeek.dns", max_items, max_bytes);
    std::vector<std::string> want;
    event_batch cur{.customer = customer, .source = "zeek.dns", .events = {}};
    std::size_t bytes = 0;
    std::vector<event_route_ref> refs;
    for (const auto& r : records) {
      auto hint = size_hint(r);
      if (!cur.events.empty() && (cur.events.size() >= max_items || bytes + hint > max_bytes)) {
        want.push_back(encode(cur));
        cur.events.clear();
        bytes = 0;
      }
      bytes += hint;
      cur.events.push_back(r);
      refs.clear();
      for (const auto& route : r.routes)
        refs.push_back({route.key, route.hits});
      b.add(r.event_ns, r.ingest_ns, r.event,
            r.raw ? std::optional<std::string_view>(*r.raw) : std::nullopt, r.rules, refs,
            r.event_rules);
    }
    want.push_back(encode(cur));
    auto got = b.finish();
    ASSERT_EQ(got.size(), want.size()) << max_items << "/" << max_bytes;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i], want[i]) << "batch " << i;
      ASSERT_TRUE(decode_event_batch(got[i]).has_value());
    }
    EXPECT_TRUE(b.finish().empty()) << "finish resets";
  }
}
