#include "ip_address.hpp"
#include "text_util.hpp"

#include <absl/container/flat_hash_set.h>
#include <algorithm>
#include <cctype>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/eql/lists.hpp>
#include <cstring>
#include <utility>
#include <xxhash.h>

namespace chainwatch::eql {

struct lookup_list::impl {
  std::string name;
  list_kind kind = list_kind::strings;
  std::size_t size = 0;
  std::uint64_t digest = 0;
  absl::flat_hash_set<std::string, detail::folded_hash, detail::folded_eq> words;
  // IP networks grouped by prefix length: one hash probe per distinct length.
  absl::flat_hash_set<std::uint32_t> v4[33];
  absl::flat_hash_set<std::pair<std::uint64_t, std::uint64_t>> v6[129];
  std::vector<int> v4_lengths;
  std::vector<int> v6_lengths;
};

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::uint32_t v4_key(const detail::ip_address& a) {
  return (std::uint32_t{a.bytes[0]} << 24) | (std::uint32_t{a.bytes[1]} << 16) |
         (std::uint32_t{a.bytes[2]} << 8) | a.bytes[3];
}

std::pair<std::uint64_t, std::uint64_t> v6_key(const detail::ip_address& a) {
  std::uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i)
    hi = (hi << 8) | a.bytes[i];
  for (int i = 8; i < 16; ++i)
    lo = (lo << 8) | a.bytes[i];
  return {hi, lo};
}

} // namespace

expected<lookup_list, std::string> lookup_list::parse(std::string name, list_kind kind,
                                                      std::string_view text) {
  auto im = std::make_shared<impl>();
  im->name = std::move(name);
  im->kind = kind;
  im->digest = XXH3_64bits_withSeed(text.data(), text.size(), static_cast<std::uint64_t>(kind));
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto bad = [&](std::string_view why) {
      return unexpected{im->name + ":" + std::to_string(line_no) + ": " + std::string(why) + ": '" +
                        std::string(line) + "'"};
    };
    switch (kind) {
    case list_kind::strings:
      im->words.insert(std::string(line));
      break;
    case list_kind::hashes:
      if (!std::all_of(line.begin(), line.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return bad("not a hex digest");
      im->words.insert(std::string(line));
      break;
    case list_kind::domains: {
      while (!line.empty() && line.back() == '.')
        line.remove_suffix(1);
      if (line.empty() || line.find_first_of(" \t/") != std::string_view::npos)
        return bad("not a domain");
      im->words.insert(detail::folded(line));
      break;
    }
    case list_kind::ips: {
      auto c = detail::parse_cidr(line);
      if (!c) return bad("not an IP address or CIDR");
      if (c->net.v6) {
        if (im->v6[c->prefix].empty()) im->v6_lengths.push_back(c->prefix);
        im->v6[c->prefix].insert(v6_key(c->net));
      } else {
        if (im->v4[c->prefix].empty()) im->v4_lengths.push_back(c->prefix);
        im->v4[c->prefix].insert(v4_key(c->net));
      }
      break;
    }
    }
    ++im->size;
  }
  lookup_list out;
  out.impl_ = std::move(im);
  return out;
}

const std::string& lookup_list::name() const noexcept {
  return impl_->name;
}
list_kind lookup_list::kind() const noexcept {
  return impl_->kind;
}
std::size_t lookup_list::size() const noexcept {
  return impl_->size;
}
std::uint64_t lookup_list::digest() const noexcept {
  return impl_ ? impl_->digest : 0;
}

bool lookup_list::contains(std::string_view value) const noexcept {
  if (!impl_) return false;
  const impl& im = *impl_;
  switch (im.kind) {
  case list_kind::strings:
  case list_kind::hashes:
    return im.words.contains(value);
  case list_kind::domains: {
    while (!value.empty() && value.back() == '.')
      value.remove_suffix(1);
    while (!value.empty()) {
      if (im.words.contains(value)) return true;
      auto dot = value.find('.');
      if (dot == std::string_view::npos) return false;
      value.remove_prefix(dot + 1);
    }
    return false;
  }
  case list_kind::ips: {
    auto a = detail::parse_ip(value);
    if (!a) return false;
    if (a->v6) {
      for (int len : im.v6_lengths)
        if (im.v6[len].contains(v6_key(detail::mask(*a, len)))) return true;
      return false;
    }
    for (int len : im.v4_lengths)
      if (im.v4[len].contains(v4_key(detail::mask(*a, len)))) return true;
    return false;
  }
  }
  return false;
}

void list_registry::add(lookup_list list) {
  for (auto& l : lists_) {
    if (l.name() == list.name()) {
      l = std::move(list);
      return;
    }
  }
  lists_.push_back(std::move(list));
}

const lookup_list* list_registry::find(std::string_view name) const noexcept {
  for (const auto& l : lists_)
    if (l.name() == name) return &l;
  return nullptr;
}

std::vector<std::string> list_registry::names() const {
  std::vector<std::string> out;
  for (const auto& l : lists_)
    out.push_back(l.name());
  return out;
}

expected<list_kind, std::string> parse_list_kind(std::string_view word) {
  if (iequals(word, "strings")) return list_kind::strings;
  if (iequals(word, "hashes")) return list_kind::hashes;
  if (iequals(word, "domains")) return list_kind::domains;
  if (iequals(word, "ips")) return list_kind::ips;
  return unexpected{"unknown list kind '" + std::string(word) +
                    "' (expected strings, hashes, domains or ips)"};
}

} // namespace chainwatch::eql
