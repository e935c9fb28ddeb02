// Fuzzes parse_timestamp with every format; the first byte picks the format.

#include <chainwatch/normalize/normalizer.hpp>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainwatch::normalize;
  if (size == 0) {
    return 0;
  }
  static constexpr std::string_view formats[] = {"epoch",
                                                 "epoch_ms",
                                                 "iso8601",
                                                 "filetime",
                                                 "syslog",
                                                 "%Y-%m-%d %H:%M:%S.%f %z",
                                                 "%d/%b/%Y:%H:%M:%S"};
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto ns =
      parse_timestamp(text, formats[data[0] % std::size(formats)], 3600, 1'600'000'000'000'000'000);
  if (ns) {
    (void)format_timestamp(*ns);
  }
  return 0;
}
