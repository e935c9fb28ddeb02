// engine::restore on arbitrary bytes (a corrupt checkpoint): refused with a reason, never a
// crash. Each run also restores a valid snapshot made here, so the success path runs too.

#include <chainwatch/engine/engine.hpp>
#include <cstdint>
#include <string>

namespace eng = chainwatch::engine;

namespace {

std::shared_ptr<const eng::ruleset> rules() {
  static auto rs = [] {
    std::vector<eng::rule_source> src = {
        {"a", "a",
         R"(sequence by user.name with maxspan=1m [authentication where event.outcome == "failure"] with runs=2 [authentication where true] until [process where true])"},
        {"b", "b",
         R"(sequence by user.name with maxspan=30s [process where true] ![network where true])"},
    };
    return *eng::ruleset::compile(src, {});
  }();
  return rs;
}

const std::string& valid_snapshot() {
  static std::string bytes = [] {
    eng::engine e(rules(), [](eng::match&&) {});
    chainwatch::event::json_decoder dec;
    const char* lines[] = {
        R"({"event":{"category":"authentication","outcome":"failure"},"user":{"name":"u1"}})",
        R"({"event":{"category":"process"},"user":{"name":"u2"}})",
        R"({"event":{"category":"authentication","outcome":"failure"},"user":{"name":"u1"}})",
    };
    std::int64_t t = 1'000'000'000;
    for (const char* l : lines) {
      auto ev = dec.decode(l);
      e.push(std::make_shared<const chainwatch::event::event>(std::move(*ev)), t += 1'000'000'000);
    }
    e.advance(2'500'000'000);
    std::string out;
    e.snapshot(out);
    return out;
  }();
  return bytes;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  eng::engine e(rules(), [](eng::match&&) {});
  if (e.restore(std::string_view(reinterpret_cast<const char*>(data), size), &error)) {
    e.finish();
  } else if (error.empty()) {
    __builtin_trap(); // a refusal always says why
  }
  eng::engine ok(rules(), [](eng::match&&) {});
  if (!ok.restore(valid_snapshot(), &error)) __builtin_trap();
  ok.finish();
  return 0;
}
