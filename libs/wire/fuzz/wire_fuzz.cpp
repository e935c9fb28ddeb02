// libFuzzer target: every decoder over arbitrary bytes must return an error or a message that
// re-encodes to bytes decoding to the same message; never crash, hang or over-allocate.

#include "chainwatch/base/assert.hpp"
#include "chainwatch/wire/codec.hpp"
#include "chainwatch/wire/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

template <class Decode>
void check(std::string_view in, Decode decode) {
  auto msg = decode(in);
  if (!msg) return;
  auto again = decode(chainwatch::wire::encode(*msg));
  CW_ASSERT(again.has_value());
  CW_ASSERT(*again == *msg);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainwatch::wire;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)peek_kind(in);
  check(in, decode_raw_batch);
  check(in, decode_event_batch);
  check(in, decode_partition_batch);
  check(in, decode_match_batch);
  check(in, decode_dead_letter);
  check(in, decode_late_event);
  check(in, decode_partition_checkpoint);
  check(in, decode_watermark_checkpoint);
  reader r(in);
  (void)r.skip();
  return 0;
}
