// libFuzzer target: arbitrary bytes as JSON and as msgpack. Whatever decodes
// must re-encode and decode again to an equal event.

#include <chainwatch/event/event.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace ev = chainwatch::event;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void round_trip(ev::json_decoder& d, const ev::event& e) {
  const std::string json = ev::to_json(e);
  // Non-finite reals (only possible from msgpack) become null in JSON.
  bool finite = true;
  for (const ev::node& n : e.nodes())
    if (n.type == ev::kind::real && !(n.d - n.d == 0)) finite = false;
  ev::decode_limits generous;
  generous.max_bytes = json.size() + 1;
  generous.max_depth = 1024;
  auto again = d.decode(json, generous);
  check(again.has_value());
  if (finite) check(*again == e);
  check(ev::to_json(*again) == json);

  std::string bytes;
  ev::append_msgpack(bytes, e);
  generous.max_bytes = bytes.size() + 1;
  auto back = ev::from_msgpack(bytes, generous);
  check(back.has_value());
  check(*back == e);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ev::json_decoder decoder;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto e = decoder.decode(input)) round_trip(decoder, *e);
  if (auto e = ev::from_msgpack(input)) round_trip(decoder, *e);
  return 0;
}
