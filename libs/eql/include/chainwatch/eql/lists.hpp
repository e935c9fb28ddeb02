#pragma once

// Lookup lists (threat intelligence and asset lists) usable in queries as
// `inList(value, "name")`. Membership is a hash lookup (hashes, strings,
// domains and their parent domains) or a binary-trie lookup (IP/CIDR), never a scan.
// Parsing is pure: callers read the files and pass their text.

#include <chainwatch/base/expected.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chainwatch::eql {

/// What the entries of a list are and how membership is tested.
enum class list_kind : unsigned char {
  strings, ///< exact, case-insensitive
  hashes,  ///< exact, case-insensitive hex digests
  domains, ///< the domain or any parent domain is listed (`a.evil.com` is in `evil.com`)
  ips,     ///< IPv4/IPv6 addresses and CIDR ranges
};

/// One named list.
class lookup_list {
public:
  /// Parses one entry per line; `#` starts a comment; blank lines are ignored.
  /// Errors name the 1-based line.
  static expected<lookup_list, std::string> parse(std::string name, list_kind kind,
                                                  std::string_view text);
  const std::string& name() const noexcept;
  list_kind kind() const noexcept;
  std::size_t size() const noexcept;
  bool contains(std::string_view value) const noexcept;
  /// A hash of the kind and the text the list was parsed from: processes whose lists have equal
  /// digests decide `inList` alike (engine::ruleset::fingerprint() includes it).
  std::uint64_t digest() const noexcept;

  struct impl;

private:
  std::shared_ptr<const impl> impl_;
};

/// All lists by name.
class list_registry {
public:
  void add(lookup_list list);
  const lookup_list* find(std::string_view name) const noexcept;
  std::vector<std::string> names() const;

private:
  std::vector<lookup_list> lists_;
};

/// Maps a file name suffix (`domains`, `ips`, `hashes`, `strings`) to a kind.
expected<list_kind, std::string> parse_list_kind(std::string_view word);

} // namespace chainwatch::eql
