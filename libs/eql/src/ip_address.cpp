#include "ip_address.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

namespace chainwatch::eql::detail {

std::optional<ip_address> parse_ip(std::string_view s) noexcept {
  char buf[64];
  if (s.empty() || s.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  ip_address a;
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  // Drop an IPv6 zone id (`fe80::1%eth0`).
  if (auto pct = s.find('%'); pct != std::string_view::npos) buf[pct] = 0;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  a.v6 = true;
  return a;
}

ip_address mask(ip_address a, int prefix) noexcept {
  for (int i = 0; i < 16; ++i) {
    int keep = prefix - i * 8;
    if (keep >= 8) continue;
    a.bytes[i] = keep <= 0 ? 0 : static_cast<std::uint8_t>(a.bytes[i] & (0xff << (8 - keep)));
  }
  return a;
}

std::optional<cidr> parse_cidr(std::string_view s) noexcept {
  auto slash = s.find('/');
  auto addr = parse_ip(s.substr(0, slash));
  if (!addr) return std::nullopt;
  int prefix = addr->bits();
  if (slash != std::string_view::npos) {
    auto len = s.substr(slash + 1);
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (ec != std::errc{} || p != len.data() + len.size() || prefix < 0 || prefix > addr->bits())
      return std::nullopt;
  }
  return cidr{mask(*addr, prefix), prefix};
}

bool cidr::contains(const ip_address& a) const noexcept {
  if (a.v6 != net.v6) return false;
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), net.bytes.data(), full) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto m = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & m) == net.bytes[full];
}

} // namespace chainwatch::eql::detail
