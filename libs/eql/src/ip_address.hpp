#pragma once

// Internal IPv4/IPv6 address and CIDR parsing (no allocation when parsing).

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace chainwatch::eql::detail {

/// An IPv4 (4 bytes used) or IPv6 address in network byte order.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
  int bits() const noexcept { return v6 ? 128 : 32; }
};

/// A network: address (masked) and prefix length.
struct cidr {
  ip_address net;
  int prefix = 0;
  bool contains(const ip_address& a) const noexcept;
};

/// Parses a dotted IPv4 or an IPv6 address; nullopt when malformed.
std::optional<ip_address> parse_ip(std::string_view s) noexcept;
/// Parses `addr/len` or a bare address (full length); nullopt when malformed.
std::optional<cidr> parse_cidr(std::string_view s) noexcept;
/// Zeroes the bits after `prefix`.
ip_address mask(ip_address a, int prefix) noexcept;

} // namespace chainwatch::eql::detail
