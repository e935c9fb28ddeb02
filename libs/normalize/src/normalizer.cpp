#include "internal.hpp"
#include "syslog.hpp"
#include "xml.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace chainwatch::normalize {

using namespace detail;

// --- source registry --------------------------------------------------------

namespace {

constexpr std::array<source_info, 19> registry = {{
    {source_type::zeek, "zeek",
     "Zeek log, any kind (from #path, _path, @stream or the file name); TSV or JSON", "zeek", true},
    {source_type::zeek_http, "zeek.http", "Zeek http.log (TSV or JSON)", "zeek", true},
    {source_type::zeek_dns, "zeek.dns", "Zeek dns.log (TSV or JSON)", "zeek", true},
    {source_type::zeek_conn, "zeek.conn", "Zeek conn.log (TSV or JSON)", "zeek", true},
    {source_type::zeek_files, "zeek.files", "Zeek files.log (TSV or JSON)", "zeek", true},
    {source_type::zeek_ssh, "zeek.ssh", "Zeek ssh.log (TSV or JSON)", "zeek", true},
    {source_type::zeek_ssl, "zeek.ssl", "Zeek ssl.log (TSV or JSON)", "zeek", true},
    {source_type::zeek_notice, "zeek.notice", "Zeek notice.log (TSV or JSON)", "zeek", true},
    {source_type::windows, "windows",
     "Windows event log JSON (Winlogbeat winlog.* or NXLog EventID/Hostname)", "windows", true},
    {source_type::o365, "o365", "Office 365 Management Activity audit records (JSON)", "o365",
     true},
    {source_type::azure_signinlogs, "azure.signinlogs", "Azure AD sign-in logs (Event Hub JSON)",
     "azure_signinlogs", true},
    {source_type::azure_auditlogs, "azure.auditlogs", "Azure AD audit logs (Event Hub JSON)",
     "azure_auditlogs", true},
    {source_type::cef, "cef",
     "ArcSight Common Event Format lines (syslog-wrapped, bare, or in a JSON envelope)", "cef",
     true},
    {source_type::leef, "leef", "IBM QRadar LEEF 1.0/2.0 lines", "leef", true},
    {source_type::fortigate, "fortigate", "FortiGate key=value syslog (raw or in a JSON envelope)",
     "fortigate", true},
    {source_type::panos, "panos", "Palo Alto PAN-OS CSV syslog", "panos", true},
    {source_type::cisco_asa, "cisco_asa", "Cisco ASA / FTD %ASA-n-NNNNNN syslog messages",
     "cisco_asa", true},
    {source_type::syslog, "syslog", "Generic syslog (RFC 3164 / RFC 5424 envelope)", "syslog",
     true},
    {source_type::ecs, "ecs", "JSON that is already ECS: passed through unchanged", "", true},
}};

std::string_view zeek_kind_of(source_type t) noexcept {
  switch (t) {
  case source_type::zeek_http:
    return "http";
  case source_type::zeek_dns:
    return "dns";
  case source_type::zeek_conn:
    return "conn";
  case source_type::zeek_files:
    return "files";
  case source_type::zeek_ssh:
    return "ssh";
  case source_type::zeek_ssl:
    return "ssl";
  case source_type::zeek_notice:
    return "notice";
  default:
    return {};
  }
}

// `conn.log`, `/x/http.log.labeled`, `ssh.2024-01-01.log.gz`, `conn.00:00:00-01:00:00.log` ->
// the name's first dot-separated part.
std::string_view file_name_stem(std::string_view file) noexcept {
  if (auto slash = file.find_last_of("/\\"); slash != std::string_view::npos) {
    file.remove_prefix(slash + 1);
  }
  return file.substr(0, file.find('.'));
}

} // namespace

std::span<const source_info> sources() noexcept {
  return registry;
}

const source_info& info(source_type t) noexcept {
  return registry[static_cast<std::size_t>(t)];
}

std::optional<source_type> parse_source_type(std::string_view name) noexcept {
  for (const auto& s : registry) {
    if (s.name == name) {
      return s.type;
    }
  }
  return std::nullopt;
}

std::string_view to_string(errc e) noexcept {
  switch (e) {
  case errc::too_large:
    return "too_large";
  case errc::too_deep:
    return "too_deep";
  case errc::bad_json:
    return "bad_json";
  case errc::bad_format:
    return "bad_format";
  case errc::missing_header:
    return "missing_header";
  case errc::unknown_kind:
    return "unknown_kind";
  case errc::not_implemented:
    return "not_implemented";
  case errc::no_table:
    return "no_table";
  }
  return "unknown";
}

// --- arena ------------------------------------------------------------------

namespace detail {

char* arena::alloc(std::size_t n) {
  if (n > block_size / 4) {
    big_.push_back(std::make_unique<char[]>(n));
    return big_.back().get();
  }
  if (used_ + n > block_size) {
    if (blocks_.empty() || block_ + 1 >= blocks_.size()) {
      blocks_.push_back(std::make_unique<char[]>(block_size));
      block_ = blocks_.size() - 1;
    } else {
      ++block_;
    }
    used_ = 0;
  }
  char* p = blocks_[block_].get() + used_;
  used_ += n;
  return p;
}

std::string_view arena::copy(std::string_view s) {
  if (s.empty()) {
    return {};
  }
  char* p = alloc(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void arena::reset() noexcept {
  big_.clear();
  block_ = 0;
  used_ = blocks_.empty() ? block_size : 0;
}

} // namespace detail

// --- the engine -------------------------------------------------------------

namespace {

/// One input field of the record being normalized.
struct field {
  field() = default;
  field(std::string_view k, const value& val) noexcept : key(k), v(val) {}
  std::string_view key;
  value v;
  std::uint32_t input = UINT32_MAX;
  std::uint32_t slot = UINT32_MAX;
  event::symbol sym = 0; // pre-interned key, when the table knows it
  bool consumed = false;
};

/// Text of a scalar value for map lookups and joins; uses `buf` for numbers.
std::string_view text_of(const value& v, char* buf, std::size_t cap) noexcept {
  switch (v.type) {
  case value::tag::string:
  case value::tag::list:
    return v.s;
  case value::tag::boolean:
    return v.b ? "true" : "false";
  case value::tag::integer: {
    auto r = std::to_chars(buf, buf + cap, v.i);
    return {buf, static_cast<std::size_t>(r.ptr - buf)};
  }
  case value::tag::real: {
    auto r = std::to_chars(buf, buf + cap, v.d);
    return {buf, static_cast<std::size_t>(r.ptr - buf)};
  }
  case value::tag::json:
    if (v.el.is_string()) {
      return v.el.get_string().value_unsafe();
    }
    return {};
  default:
    return {};
  }
}

bool looks_like_ip(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  if (s.find(':') == std::string_view::npos) {
    // IPv4: four dotted decimal octets (a name such as `cafe.be` is not an address).
    int octets = 0;
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t digits = 0;
      unsigned v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 4) {
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
        ++i;
        ++digits;
      }
      if (digits == 0 || digits > 3 || v > 255) {
        return false;
      }
      ++octets;
      if (i == s.size()) {
        break;
      }
      if (s[i] != '.') {
        return false;
      }
      ++i;
      if (i == s.size()) {
        return false;
      }
    }
    return octets == 4;
  }
  // IPv6, with an optional zone after `%` (`fe80::1%eth0`).
  for (char c : s.substr(0, s.find('%'))) {
    if (c != '.' && c != ':' && !std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

} // namespace

struct normalizer::impl {
  limits lim;
  std::vector<std::shared_ptr<const source_table>> tables;
  std::array<const source_table*, registry.size()> by_source{};

  // Scratch, reused across events.
  simdjson::dom::parser parser;
  simdjson::dom::parser inner_parser; // for a JSON record embedded in a string field
  std::string padded;
  std::string inner_padded;
  std::vector<std::string_view> csv_cells; // parse_csv scratch
  std::vector<std::size_t> csv_starts;     // parse_csv: byte offset of each cell
  xml_reader xml;                          // normalize_xml scratch
  arena scratch;
  std::vector<field> record;
  std::vector<std::uint32_t> present_gen;
  std::vector<std::uint32_t> present_at;
  std::vector<std::uint32_t> slot_gen;
  std::vector<value> slot_val;
  std::vector<std::uint32_t> written;
  std::uint32_t gen = 0;
  event::builder b;
  char numbuf[64];
  std::int64_t now_ns = 0;                 // from the current call's context
  std::optional<std::int32_t> tz_override; // from the current call's context

  std::int32_t tz_of(const source_table& t) const noexcept {
    return tz_override.value_or(t.tz_offset_s);
  }

  void bind(const source_table* t) {
    for (const auto& s : registry) {
      if (!s.table.empty() && s.table == t->name) {
        by_source[static_cast<std::size_t>(s.type)] = t;
      }
    }
  }

  normalize_error fail(source_type src, errc code, std::string reason, std::size_t offset,
                       std::string_view raw) const {
    return normalize_error{std::string(info(src).name), code, std::move(reason), offset,
                           std::string(raw)};
  }

  void begin(const source_table& t) {
    record.clear();
    written.clear();
    scratch.reset();
    if (++gen == 0) {
      std::fill(present_gen.begin(), present_gen.end(), 0);
      std::fill(slot_gen.begin(), slot_gen.end(), 0);
      gen = 1;
    }
    if (present_gen.size() < t.input_count) {
      present_gen.resize(t.input_count, 0);
      present_at.resize(t.input_count, 0);
    }
    if (slot_gen.size() < t.slot_paths.size()) {
      slot_gen.resize(t.slot_paths.size(), 0);
      slot_val.resize(t.slot_paths.size());
    }
  }

  // Adds an input field, resolving aliases and the key dictionary.
  void add(const source_table& t, const variant& var, std::string_view key, const value& v) {
    for (const auto& strip : t.strip_prefixes) {
      if (key.size() > strip.size() && key.starts_with(strip)) {
        key.remove_prefix(strip.size());
        break;
      }
    }
    bool aliased = false;
    if (!var.aliases.empty()) {
      if (auto it = var.aliases.find(key_of(key)); it != var.aliases.end()) {
        key = it->second;
        aliased = true;
      }
    }
    if (!aliased && !var.input_prefix.empty()) {
      const std::size_t n = var.input_prefix.size() + key.size();
      char* p = scratch.alloc(n);
      std::memcpy(p, var.input_prefix.data(), var.input_prefix.size());
      std::memcpy(p + var.input_prefix.size(), key.data(), key.size());
      key = {p, n};
    }
    auto it = t.keys.find(key_of(key));
    add_resolved(key, v, it != t.keys.end() ? &it->second : nullptr);
  }

  // Adds an input field whose (final) key was already looked up in the key dictionary.
  void add_resolved(std::string_view key, const value& v, const key_entry* e) {
    // Constructed in place from (key, v): value-initializing a field first cost a `rep stos`.
    field& f = record.emplace_back(key, v);
    if (e != nullptr) {
      f.input = e->input;
      f.slot = e->slot;
      f.sym = e->key_symbol;
      if (f.input != UINT32_MAX) {
        present_gen[f.input] = gen;
        present_at[f.input] = static_cast<std::uint32_t>(record.size() - 1);
      }
    }
  }

  field* input(std::uint32_t id) noexcept {
    return id < present_gen.size() && present_gen[id] == gen ? &record[present_at[id]] : nullptr;
  }

  void write(std::uint32_t slot, const value& v) {
    if (slot_gen[slot] != gen) {
      slot_gen[slot] = gen;
      written.push_back(slot);
    }
    slot_val[slot] = v;
  }

  const value* slot(std::uint32_t s) const noexcept {
    return slot_gen[s] == gen ? &slot_val[s] : nullptr;
  }

  bool is_null_text(const source_table& t, const value& v) const noexcept {
    if (v.type == value::tag::null) {
      return true;
    }
    if (v.type != value::tag::string) {
      return false;
    }
    for (const auto& n : t.null_values) {
      if (v.s == n) {
        return true;
      }
    }
    return false;
  }

  using scoped_map = absl::flat_hash_map<std::string, key_entry>;

  // Flattens a JSON object into dotted keys.
  bool flatten(const source_table& t, const variant& var, simdjson::dom::object obj,
               std::string_view prefix, std::size_t depth) {
    // Without key rewriting (prefix stripping, aliases, an input prefix) a member's flattened key
    // is `prefix.member`, so it is looked up by the member name in the dictionary scoped to
    // `prefix` (null: no known key below `prefix`).
    const bool scoped = t.strip_prefixes.empty() && var.aliases.empty() && var.input_prefix.empty();
    const scoped_map* scope = &t.keys;
    if (scoped && !prefix.empty()) {
      auto it = t.scoped_keys.find(key_of(prefix));
      scope = it != t.scoped_keys.end() ? &it->second : nullptr;
    }
    for (auto [k, el] : obj) {
      std::string_view key = k;
      if (!prefix.empty()) {
        char* p = scratch.alloc(prefix.size() + 1 + k.size());
        std::memcpy(p, prefix.data(), prefix.size());
        p[prefix.size()] = '.';
        std::memcpy(p + prefix.size() + 1, k.data(), k.size());
        key = {p, prefix.size() + 1 + k.size()};
      }
      if (record.size() >= lim.max_fields) {
        return false;
      }
      value v;
      switch (el.type()) {
      case simdjson::dom::element_type::OBJECT: {
        simdjson::dom::object inner;
        if (el.get_object().get(inner) != simdjson::SUCCESS || depth + 1 > lim.max_depth ||
            !flatten(t, var, inner, key, depth + 1)) {
          return false;
        }
        continue;
      }
      case simdjson::dom::element_type::ARRAY:
        v.type = value::tag::json;
        v.el = el;
        break;
      case simdjson::dom::element_type::STRING:
        v = value::str(el.get_string().value_unsafe());
        break;
      case simdjson::dom::element_type::INT64:
        v = value::integer(el.get_int64().value_unsafe());
        break;
      case simdjson::dom::element_type::UINT64:
        v = value::real(static_cast<double>(el.get_uint64().value_unsafe()));
        break;
      case simdjson::dom::element_type::DOUBLE:
        v = value::real(el.get_double().value_unsafe());
        break;
      case simdjson::dom::element_type::BOOL:
        v = value::boolean(el.get_bool().value_unsafe());
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        v.type = value::tag::null;
        break;
      }
      if (scoped) {
        const key_entry* e = nullptr;
        if (scope != nullptr) {
          if (auto it = scope->find(key_of(k)); it != scope->end()) {
            e = &it->second;
          }
        }
        add_resolved(key, v, e);
      } else {
        add(t, var, key, v);
      }
    }
    return true;
  }

  value convert(const source_table& t, const value& in, conv c, const std::string& format) {
    switch (c) {
    case conv::none:
      return in;
    case conv::string:
      if (in.type == value::tag::string) {
        return in;
      }
      if (in.type == value::tag::integer || in.type == value::tag::real ||
          in.type == value::tag::boolean) {
        return value::str(scratch.copy(text_of(in, numbuf, sizeof numbuf)));
      }
      return in;
    case conv::integer:
    case conv::hex: {
      if (in.type == value::tag::integer) {
        return in;
      }
      if (in.type == value::tag::real) {
        if (!(std::fabs(in.d) < 9.2e18)) {
          return {};
        }
        return value::integer(static_cast<std::int64_t>(in.d));
      }
      if (in.type == value::tag::boolean) {
        return value::integer(in.b ? 1 : 0);
      }
      if (in.type != value::tag::string) {
        return {};
      }
      std::string_view s = in.s;
      int base = 10;
      if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
      }

      std::int64_t out = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
      if (r.ec != std::errc{} || s.empty()) {
        return {};
      }
      if (r.ptr != s.data() + s.size() && *r.ptr != '.') {
        return {};
      }
      return value::integer(out);
    }
    case conv::real:
    case conv::duration_ns:
    case conv::ms_duration_ns: {
      double d = 0;
      if (in.type == value::tag::real) {
        d = in.d;
      } else if (in.type == value::tag::integer) {
        d = static_cast<double>(in.i);
      } else if (in.type == value::tag::string) {
        auto r = std::from_chars(in.s.data(), in.s.data() + in.s.size(), d);
        if (r.ec != std::errc{} || r.ptr != in.s.data() + in.s.size()) {
          return {};
        }
      } else {
        return {};
      }
      if (c == conv::real) {
        return value::real(d);
      }
      const double ns = std::round(d * (c == conv::duration_ns ? 1e9 : 1e6));
      if (!(std::fabs(ns) < 9e18)) {
        return {};
      }
      return value::integer(static_cast<std::int64_t>(ns));
    }
    case conv::boolean:
      if (in.type == value::tag::boolean) {
        return in;
      }
      if (in.type == value::tag::integer) {
        return value::boolean(in.i != 0);
      }
      if (in.type == value::tag::string) {
        if (in.s == "T" || in.s == "true" || in.s == "True" || in.s == "1") {
          return value::boolean(true);
        }
        if (in.s == "F" || in.s == "false" || in.s == "False" || in.s == "0") {
          return value::boolean(false);
        }
      }
      return {};
    case conv::ip:
      if (in.type == value::tag::string) {
        std::string_view ip = in.s;
        // `[v6]:port` and `v4:port` carry a port; the address is what ECS wants.
        if (ip.starts_with('[')) {
          ip = ip.substr(1, ip.find(']') - 1);
        } else if (const auto colon = ip.find(':');
                   colon != std::string_view::npos &&
                   ip.find(':', colon + 1) == std::string_view::npos &&
                   ip.find('.') != std::string_view::npos) {
          ip = ip.substr(0, colon);
        }
        // IPv4-mapped IPv6 (`::ffff:10.0.0.1`) reads as the IPv4 address.
        if (ip.size() > 7 && (ip.starts_with("::ffff:") || ip.starts_with("::FFFF:")) &&
            ip.find('.') != std::string_view::npos) {
          ip.remove_prefix(7);
        }
        return looks_like_ip(ip) ? value::str(ip) : value{};
      }
      if (in.type == value::tag::json && in.el.is_array()) {
        // Keeps the elements that are IP addresses (e.g. DNS answers -> resolved IPs).
        simdjson::dom::array arr;
        if (in.el.get_array().get(arr) != simdjson::SUCCESS) {
          return {};
        }
        std::size_t total = 0;
        for (auto e : arr) {
          if (e.is_string()) {
            total += e.get_string().value_unsafe().size() + 1;
          }
        }
        char* p = scratch.alloc(total + 1);
        std::size_t n = 0;
        for (auto e : arr) {
          if (!e.is_string()) {
            continue;
          }
          std::string_view ip = e.get_string().value_unsafe();
          if (!looks_like_ip(ip)) {
            continue;
          }
          if (n > 0) {
            p[n++] = '\x1f';
          }
          std::memcpy(p + n, ip.data(), ip.size());
          n += ip.size();
        }
        if (n == 0) {
          return {};
        }
        value v;
        v.type = value::tag::list;
        v.sep = '\x1f';
        v.s = {p, n};
        return v;
      }
      if (in.type == value::tag::list) {
        // Keeps the list items that are IP addresses.
        char* p = scratch.alloc(in.s.size() + 1);
        std::size_t n = 0;
        std::string_view rest = in.s;
        while (!rest.empty()) {
          const auto pos = rest.find(in.sep);
          std::string_view ip = rest.substr(0, pos);
          while (!ip.empty() && ip.front() == ' ') {
            ip.remove_prefix(1);
          }
          if (ip.size() > 7 && ip.starts_with("::ffff:") &&
              ip.find('.') != std::string_view::npos) {
            ip.remove_prefix(7);
          }
          if (looks_like_ip(ip)) {
            if (n > 0) {
              p[n++] = '\x1f';
            }
            std::memcpy(p + n, ip.data(), ip.size());
            n += ip.size();
          }
          if (pos == std::string_view::npos) {
            break;
          }
          rest.remove_prefix(pos + 1);
        }
        if (n == 0) {
          return {};
        }
        value v;
        v.type = value::tag::list;
        v.sep = '\x1f';
        v.s = {p, n};
        return v;
      }
      return {};
    case conv::timestamp: {
      std::optional<std::int64_t> ns;
      // Shortest round-trip text of a double keeps epoch fractions exact.
      ns = parse_timestamp(text_of(in, numbuf, sizeof numbuf), format, tz_of(t), now_ns);
      if (!ns && in.type == value::tag::real && format.starts_with("epoch")) {
        const double scale = format == "epoch" ? 1e9 : 1e6;
        if (std::fabs(in.d) < 9e18 / scale) {
          ns = static_cast<std::int64_t>(std::llround(in.d * scale));
        }
      }
      if (!ns) {
        return {};
      }
      char* p = scratch.alloc(timestamp_buffer_size);
      return value::str({p, format_timestamp_into(p, *ns)});
    }
    case conv::basename:
      if (in.type == value::tag::string) {
        auto pos = in.s.find_last_of("\\/");
        return pos == std::string_view::npos ? in : value::str(in.s.substr(pos + 1));
      }
      return in;
    case conv::lowercase:
    case conv::uppercase:
      if (in.type == value::tag::string) {
        char* p = scratch.alloc(in.s.size());
        for (std::size_t i = 0; i < in.s.size(); ++i) {
          const auto ch = static_cast<unsigned char>(in.s[i]);
          p[i] = static_cast<char>(c == conv::lowercase ? std::tolower(ch) : std::toupper(ch));
        }
        return value::str({p, in.s.size()});
      }
      return in;
    case conv::account_domain:
    case conv::account_name:
      if (in.type == value::tag::string) {
        // `DOMAIN\user` or `user@domain` (a UPN).
        if (const auto at = in.s.find('@');
            at != std::string_view::npos && in.s.find('\\') == std::string_view::npos) {
          return value::str(c == conv::account_name ? in.s.substr(0, at) : in.s.substr(at + 1));
        }
        const auto slash = in.s.find('\\');
        if (slash == std::string_view::npos) {
          return c == conv::account_name ? in : value{};
        }
        return value::str(c == conv::account_name ? in.s.substr(slash + 1) : in.s.substr(0, slash));
      }
      return {};
    case conv::kv:
      // `SHA1=ab,MD5=cd`: the value of key `format` (case-insensitive).
      if (in.type == value::tag::string) {
        std::string_view rest = in.s;
        while (!rest.empty()) {
          const auto comma = rest.find(',');
          const auto item = rest.substr(0, comma);
          const auto eq = item.find('=');
          if (eq != std::string_view::npos && eq == format.size() &&
              std::equal(format.begin(), format.end(), item.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
              })) {
            return value::str(item.substr(eq + 1));
          }
          if (comma == std::string_view::npos) {
            break;
          }
          rest.remove_prefix(comma + 1);
        }
      }
      return {};
    case conv::path_after:
      // `/tenants/t/providers/Microsoft.aadiam` with format `providers` -> `Microsoft.aadiam`.
      if (in.type == value::tag::string) {
        std::string_view rest = in.s;
        while (!rest.empty()) {
          if (rest.front() == '/') {
            rest.remove_prefix(1);
            continue;
          }
          const auto slash = rest.find('/');
          const auto segment = rest.substr(0, slash);
          if (slash == std::string_view::npos) {
            break;
          }
          rest.remove_prefix(slash + 1);
          if (segment.size() == format.size() &&
              std::equal(segment.begin(), segment.end(), format.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
              })) {
            return value::str(rest.substr(0, rest.find('/')));
          }
        }
      }
      return {};
    case conv::syslog_facility:
    case conv::syslog_severity: {
      const value pri = convert(t, in, conv::integer, format);
      if (pri.type != value::tag::integer || pri.i < 0 || pri.i > 191) {
        return {};
      }
      return value::integer(c == conv::syslog_facility ? pri.i / 8 : pri.i % 8);
    }
    case conv::contains:
      return value::boolean(text_of(in, numbuf, sizeof numbuf).find(format) !=
                            std::string_view::npos);
    case conv::trim: {
      if (in.type != value::tag::string) {
        return in;
      }
      std::string_view v = in.s;
      const auto first = v.find_first_not_of(format);
      if (first == std::string_view::npos) {
        return {};
      }
      v = v.substr(first, v.find_last_not_of(format) - first + 1);
      return value::str(v);
    }
    case conv::domain: {
      // The other half of `ip`: a host name, kept only when the text is not an address.
      if (in.type != value::tag::string || in.s.empty() ||
          convert(t, in, conv::ip, format).present()) {
        return {};
      }
      return in;
    }
    case conv::email:
      if (in.type == value::tag::string && in.s.find('@') != std::string_view::npos &&
          in.s.find('\\') == std::string_view::npos) {
        return in;
      }
      return {};
    case conv::ip_version: {
      const value ip = convert(t, in, conv::ip, format);
      if (ip.type != value::tag::string) {
        return {};
      }
      return value::str(ip.s.find(':') == std::string_view::npos ? "ipv4" : "ipv6");
    }
    case conv::name_value:
      if (in.type == value::tag::json && in.el.is_array()) {
        value v = in;
        v.name_value = true;
        return v;
      }
      return in;
    case conv::indexed_snake:
      if (in.type == value::tag::json) {
        value v = in;
        v.indexed_snake = true;
        return v;
      }
      return in;
    case conv::first:
      if (in.type == value::tag::list) {
        return value::str(in.s.substr(0, in.s.find(in.sep)));
      }
      if (in.type == value::tag::json && in.el.is_array()) {
        simdjson::dom::array arr;
        if (in.el.get_array().get(arr) != simdjson::SUCCESS || arr.size() == 0) {
          return {};
        }
        simdjson::dom::element first = arr.at(0).value_unsafe();
        switch (first.type()) {
        case simdjson::dom::element_type::STRING:
          return value::str(first.get_string().value_unsafe());
        case simdjson::dom::element_type::INT64:
          return value::integer(first.get_int64().value_unsafe());
        case simdjson::dom::element_type::DOUBLE:
          return value::real(first.get_double().value_unsafe());
        case simdjson::dom::element_type::BOOL:
          return value::boolean(first.get_bool().value_unsafe());
        default: {
          value v;
          v.type = value::tag::json;
          v.el = first;
          return v;
        }
        }
      }
      return in;
    case conv::split:
      if (in.type == value::tag::string) {
        value v = in;
        v.type = value::tag::list;
        v.sep = format.empty() ? ',' : format[0];
        return v;
      }
      return in;
    }
    return in;
  }

  value apply_map(const value_map* m, const value& v) {
    auto key = text_of(v, numbuf, sizeof numbuf);
    if (auto it = m->entries.find(key_of(key)); it != m->entries.end()) {
      return value::constant(m->values[it->second].get());
    }
    if (m->fallback) {
      return value::constant(m->fallback.get());
    }
    return {};
  }

  void run_rule(const source_table& t, const rule& r) {
    field* f = nullptr;
    for (auto id : r.from) {
      f = input(id);
      if (f != nullptr) {
        break;
      }
    }
    if (f == nullptr) {
      return;
    }
    // Placeholders such as "-" stay in the vendor namespace, untouched.
    if (is_null_text(t, f->v)) {
      return;
    }
    if (!r.keep) {
      f->consumed = true;
    }
    value v = convert(t, f->v, r.type, r.format);
    if (v.present() && r.then != conv::none) {
      v = convert(t, v, r.then, r.format);
    }
    if (v.present() && r.map != nullptr) {
      v = apply_map(r.map, v);
    }
    if (!v.present()) {
      return;
    }
    for (auto s : r.to) {
      write(s, v);
    }
  }

  void run_derive(const source_table& t, const derive& d) {
    value out;
    switch (d.kind) {
    case derive::op::sum: {
      std::int64_t sum = 0;
      bool any = false;
      for (auto s : d.inputs) {
        if (const value* v = slot(s); v != nullptr && v->type == value::tag::integer) {
          if (__builtin_add_overflow(sum, v->i, &sum)) {
            return;
          }
          any = true;
        }
      }
      if (any) {
        out = value::integer(sum);
      }
      break;
    }
    case derive::op::join: {
      std::size_t n = 0;
      char buf[256];
      for (std::size_t i = 0; i < d.inputs.size(); ++i) {
        const field* f = input(d.inputs[i]);
        std::string_view s = f != nullptr ? text_of(f->v, numbuf, sizeof numbuf) : "";
        if (n + s.size() + 1 > sizeof buf) {
          return;
        }
        if (i > 0) {
          buf[n++] = '|';
        }
        if (!s.empty()) {
          std::memcpy(buf + n, s.data(), s.size());
          n += s.size();
        }
      }
      out = value::str(scratch.copy({buf, n}));
      break;
    }
    case derive::op::collect: {
      // Distinct texts joined by a unit separator and emitted as an array.
      std::string_view seen[16];
      std::size_t count = 0;
      std::size_t total = 0;
      auto add_text = [&](const value& v) {
        if (count == 16 || is_null_text(t, v)) {
          return;
        }
        auto txt = text_of(v, numbuf, sizeof numbuf);
        if (txt.empty() || std::find(seen, seen + count, txt) != seen + count) {
          return;
        }
        seen[count++] = scratch.copy(txt);
        total += txt.size() + 1;
      };
      for (auto s : d.inputs) {
        const value* v = slot(s);
        if (v == nullptr) {
          continue;
        }
        if (v->type != value::tag::list) {
          add_text(*v);
          continue;
        }
        std::string_view rest = v->s;
        while (!rest.empty()) {
          const auto pos = rest.find(v->sep);
          add_text(value::str(rest.substr(0, pos)));
          if (pos == std::string_view::npos) {
            break;
          }
          rest.remove_prefix(pos + 1);
        }
      }
      for (auto id : d.extra_inputs) {
        if (const field* f = input(id)) {
          add_text(f->v);
        }
      }
      if (count == 0) {
        return;
      }
      char* p = scratch.alloc(total);
      std::size_t n = 0;
      for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) {
          p[n++] = '\x1f';
        }
        std::memcpy(p + n, seen[i].data(), seen[i].size());
        n += seen[i].size();
      }
      out.type = value::tag::list;
      out.sep = '\x1f';
      out.s = {p, n};
      break;
    }
    case derive::op::flags: {
      // Names of the inputs that are true, as an array.
      std::size_t total = 0;
      for (const auto& n : d.names) {
        total += n.size() + 1;
      }
      char* p = scratch.alloc(total);
      std::size_t n = 0;
      for (std::size_t i = 0; i < d.inputs.size(); ++i) {
        const field* f = input(d.inputs[i]);
        if (f == nullptr || convert(t, f->v, conv::boolean, {}).b != true) {
          continue;
        }
        if (n > 0) {
          p[n++] = '\x1f';
        }
        std::memcpy(p + n, d.names[i].data(), d.names[i].size());
        n += d.names[i].size();
      }
      if (n == 0) {
        return;
      }
      out.type = value::tag::list;
      out.sep = '\x1f';
      out.s = {p, n};
      break;
    }
    case derive::op::first:
      for (auto s : d.inputs) {
        if (const value* v = slot(s)) {
          out = *v;
          break;
        }
      }
      break;
    }
    if (!out.present()) {
      return;
    }
    out = convert(t, out, d.type, d.format);
    if (out.present() && d.map != nullptr) {
      out = apply_map(d.map, out);
    }
    if (out.present()) {
      write(d.to, out);
    }
  }

  bool emit_json(simdjson::dom::element el, std::size_t depth) {
    if (depth > lim.max_depth) {
      return false;
    }
    switch (el.type()) {
    case simdjson::dom::element_type::OBJECT: {
      b.begin_object();
      simdjson::dom::object obj;
      if (el.get_object().get(obj) != simdjson::SUCCESS) {
        return false;
      }
      for (auto [k, v] : obj) {
        b.key(k);
        if (!emit_json(v, depth + 1)) {
          return false;
        }
      }
      b.end_object();
      return true;
    }
    case simdjson::dom::element_type::ARRAY: {
      b.begin_array();
      simdjson::dom::array arr;
      if (el.get_array().get(arr) != simdjson::SUCCESS) {
        return false;
      }
      for (auto v : arr) {
        if (!emit_json(v, depth + 1)) {
          return false;
        }
      }
      b.end_array();
      return true;
    }
    case simdjson::dom::element_type::STRING:
      b.string(el.get_string().value_unsafe());
      return true;
    case simdjson::dom::element_type::INT64:
      b.integer(el.get_int64().value_unsafe());
      return true;
    case simdjson::dom::element_type::UINT64:
      b.real(static_cast<double>(el.get_uint64().value_unsafe()));
      return true;
    case simdjson::dom::element_type::DOUBLE:
      b.real(el.get_double().value_unsafe());
      return true;
    case simdjson::dom::element_type::BOOL:
      b.boolean(el.get_bool().value_unsafe());
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      b.null();
      return true;
    }
    return true;
  }

  // Like emit_json, but arrays of objects become objects keyed "0", "1", ... and keys snake_case.
  bool emit_indexed(simdjson::dom::element el, std::size_t depth) {
    if (depth > lim.max_depth) {
      return false;
    }
    if (el.is_object()) {
      simdjson::dom::object obj;
      if (el.get_object().get(obj) != simdjson::SUCCESS) {
        return false;
      }
      b.begin_object();
      for (auto [k, v] : obj) {
        b.key(snake_key({}, k));
        if (!emit_indexed(v, depth + 1)) {
          return false;
        }
      }
      b.end_object();
      return true;
    }
    if (el.is_array()) {
      simdjson::dom::array arr;
      if (el.get_array().get(arr) != simdjson::SUCCESS) {
        return false;
      }
      bool objects = arr.size() > 0;
      for (auto v : arr) {
        objects = objects && v.is_object();
      }
      if (!objects) {
        return emit_json(el, depth);
      }
      b.begin_object();
      std::size_t i = 0;
      for (auto v : arr) {
        char* p = scratch.alloc(24);
        auto r = std::to_chars(p, p + 24, i++);
        b.key(std::string_view{p, static_cast<std::size_t>(r.ptr - p)});
        if (!emit_indexed(v, depth + 1)) {
          return false;
        }
      }
      b.end_object();
      return true;
    }
    return emit_json(el, depth);
  }

  // `[{"Name": "k", "Value": v}, ...]` as `{"k": v, ...}`; other elements are skipped.
  bool emit_name_value(simdjson::dom::element el) {
    simdjson::dom::array arr;
    if (el.get_array().get(arr) != simdjson::SUCCESS) {
      return false;
    }
    b.begin_object();
    for (auto item : arr) {
      std::string_view name;
      if (item["Name"].get(name) != simdjson::SUCCESS) {
        continue;
      }
      // Dots in names would read as nesting.
      char* p = scratch.alloc(name.size() + 1);
      for (std::size_t i = 0; i < name.size(); ++i) {
        p[i] = name[i] == '.' ? '_' : name[i];
      }
      b.key(std::string_view{p, name.size()});
      simdjson::dom::element val;
      if (item["Value"].get(val) == simdjson::SUCCESS) {
        if (!emit_json(val, 1)) {
          return false;
        }
        continue;
      }
      // `{"Name":..,"NewValue":..,"OldValue":..}`: the other members as an object.
      simdjson::dom::object obj;
      if (item.get_object().get(obj) != simdjson::SUCCESS) {
        b.null();
        continue;
      }
      b.begin_object();
      for (auto [k, v] : obj) {
        if (k == "Name") {
          continue;
        }
        b.key(k);
        if (!emit_json(v, 2)) {
          return false;
        }
      }
      b.end_object();
    }
    b.end_object();
    return true;
  }

  bool emit(const value& v) {
    switch (v.type) {
    case value::tag::none:
    case value::tag::null:
      b.null();
      return true;
    case value::tag::boolean:
      b.boolean(v.b);
      return true;
    case value::tag::integer:
      b.integer(v.i);
      return true;
    case value::tag::real:
      b.real(v.d);
      return true;
    case value::tag::string:
      b.string(v.s);
      return true;
    case value::tag::list: {
      b.begin_array();
      std::string_view rest = v.s;
      // A space separator splits on any whitespace run.
      const char* seps = v.sep == ' ' ? " \t\r\n" : std::string_view(&v.sep, 1).data();
      const std::size_t nseps = v.sep == ' ' ? 4 : 1;
      while (!rest.empty()) {
        auto pos = rest.find_first_of(std::string_view(seps, nseps));
        auto item = rest.substr(0, pos);
        if (!item.empty()) {
          b.string(item);
        }
        if (pos == std::string_view::npos) {
          break;
        }
        rest.remove_prefix(pos + 1);
      }
      b.end_array();
      return true;
    }
    case value::tag::json:
      if (v.name_value) {
        return emit_name_value(v.el);
      }
      return v.indexed_snake ? emit_indexed(v.el, 0) : emit_json(v.el, 0);
    case value::tag::constant:
      b.copy(v.c->root());
      return true;
    }
    return true;
  }

  // Splits an input text on the literals of the first pattern that matches; its captures become
  // input fields. A text that matches no pattern leaves the record unchanged.
  void run_dissect(const source_table& t, const dissect& d) {
    field* f = input(d.from);
    if (f == nullptr || f->v.type != value::tag::string) {
      return;
    }
    const std::string_view text = f->v.s;
    std::string_view captures[32];
    for (const auto& p : d.patterns) {
      if (!match_pattern(p, text, captures)) {
        continue;
      }
      const variant& var = t.variants[0];
      for (std::size_t i = 0; i < p.parts.size(); ++i) {
        if (p.parts[i].input != UINT32_MAX && record.size() < lim.max_fields) {
          add(t, var, p.parts[i].key, value::str(captures[i]));
        }
      }
      if (d.consume) {
        // `f` may have moved when the captures were added.
        if (field* src = input(d.from)) {
          src->consumed = true;
        }
        present_gen[d.from] = 0;
      }
      return;
    }
  }

  static bool match_pattern(const dissect::pattern& p, std::string_view text,
                            std::string_view* captures) noexcept {
    const std::size_t n = p.parts.size(); // at most 32: checked when the table is compiled
    std::size_t pos = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& lit = p.parts[i].literal;
      if (text.compare(pos, lit.size(), lit) != 0) {
        return false;
      }
      pos += lit.size();
      const std::string& next = i + 1 < n ? p.parts[i + 1].literal : p.tail;
      std::size_t end = text.size();
      if (!next.empty()) {
        end = text.find(next, pos);
        if (end == std::string_view::npos) {
          return false;
        }
      } else if (i + 1 < n) {
        return false;
      }
      captures[i] = text.substr(pos, end - pos);
      if (!fits(p.parts[i].kind, captures[i])) {
        return false;
      }
      pos = end;
    }
    return text.compare(pos, p.tail.size(), p.tail) == 0;
  }

  static bool fits(dissect::shape kind, std::string_view s) noexcept {
    auto all = [&](auto pred) {
      return !s.empty() && std::all_of(s.begin(), s.end(),
                                       [&](char c) { return pred(static_cast<unsigned char>(c)); });
    };
    switch (kind) {
    case dissect::shape::any:
      return true;
    case dissect::shape::word:
      return all([](unsigned char c) { return !std::isspace(c); });
    case dissect::shape::digits:
      return all([](unsigned char c) { return std::isdigit(c) != 0; });
    case dissect::shape::host:
      // A name or an address: letters, digits and `.-_:%`, plus `[]` around IPv6.
      return all([](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '%' ||
               c == '[' || c == ']';
      });
    }
    return true;
  }

  // Syslog envelope (syslog.hpp): fills the syslog.* inputs (absent fields, the RFC 5424
  // NILVALUE included, add nothing) and one `log.syslog.structured_data.<SD-ID>.<PARAM>` input
  // per RFC 5424 SD-PARAM. Returns npos, or 0 when the PRI or the SD is malformed.
  std::size_t parse_syslog(const source_table& t, std::string_view line) {
    const variant& var = t.variants[0];
    const syslog_header h = parse_syslog_header(line);
    if (!h.ok) {
      return 0;
    }
    auto put = [&](std::string_view key, std::string_view v) {
      if (!v.empty()) {
        add(t, var, key, value::str(v));
      }
    };
    put("syslog.priority", h.priority);
    put("syslog.version", h.version);
    put("syslog.timestamp", h.timestamp);
    put("syslog.hostname", h.hostname);
    put("syslog.program", h.program);
    put("syslog.pid", h.pid);
    put("syslog.msgid", h.msgid);
    put("syslog.message", h.message);
    constexpr std::string_view sd_prefix = "log.syslog.structured_data.";
    std::size_t pos = 0;
    std::string_view id;
    syslog_sd_param p;
    while (next_sd_param(h.structured_data, pos, id, p) && record.size() < lim.max_fields) {
      const std::size_t n = sd_prefix.size() + p.id.size() + 1 + p.name.size();
      char* k = scratch.alloc(n);
      std::memcpy(k, sd_prefix.data(), sd_prefix.size());
      std::memcpy(k + sd_prefix.size(), p.id.data(), p.id.size());
      k[sd_prefix.size() + p.id.size()] = '.';
      std::memcpy(k + sd_prefix.size() + p.id.size() + 1, p.name.data(), p.name.size());
      std::string_view v = p.value;
      if (p.escaped) {
        char* u = scratch.alloc(v.size());
        std::size_t m = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (v[i] == '\\' && i + 1 < v.size() &&
              (v[i + 1] == '"' || v[i + 1] == '\\' || v[i + 1] == ']')) {
            ++i;
          }
          u[m++] = v[i];
        }
        v = {u, m};
      }
      add(t, var, {k, n}, value::str(v));
    }
    return std::string_view::npos;
  }

  // `prefix` + `key` with camelCase segments turned into snake_case (`userId` -> `user_id`).
  std::string_view snake_key(std::string_view prefix, std::string_view key,
                             std::size_t depth = SIZE_MAX) {
    char* p = scratch.alloc(prefix.size() + key.size() * 2);
    if (!prefix.empty()) {
      std::memcpy(p, prefix.data(), prefix.size());
    }
    std::size_t n = prefix.size();
    std::size_t segment = 0;
    for (std::size_t i = 0; i < key.size(); ++i) {
      const char c = key[i];
      if (c == '.') {
        ++segment;
      }
      if (c >= 'A' && c <= 'Z' && segment < depth) {
        const char prev = i > 0 ? key[i - 1] : '.';
        const char next = i + 1 < key.size() ? key[i + 1] : '.';
        const bool prev_word = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
        const bool acronym_end = prev >= 'A' && prev <= 'Z' && next >= 'a' && next <= 'z';
        if (prev_word || acronym_end) {
          p[n++] = '_';
        }
        p[n++] = static_cast<char>(c - 'A' + 'a');
      } else {
        p[n++] = c;
      }
    }
    return {p, n};
  }

  // Runs the mappings for the filled record and builds the event.
  std::optional<event::event> run(const source_table& t, const variant& var,
                                  std::string_view kind) {
    const std::vector<std::uint32_t>* list = &t.universal;
    if (!kind.empty()) {
      if (auto it = t.by_kind.find(key_of(kind)); it != t.by_kind.end()) {
        list = &it->second;
      }
    }
    bool drop = t.drop_unmapped;
    std::string_view prefix = t.unmapped_prefix;
    if (var.has_unmapped) {
      drop = var.drop_unmapped;
      prefix = var.unmapped_prefix;
    }
    for (auto mi : *list) {
      const mapping& m = t.mappings[mi];
      for (const auto& d : m.dissects) {
        run_dissect(t, d);
      }
      for (const auto& [s, c] : m.constants) {
        write(s, value::constant(c.get()));
      }
      for (const auto& r : m.rules) {
        run_rule(t, r);
      }
      for (auto id : m.drops) {
        if (field* f = input(id)) {
          f->consumed = true;
        }
      }
      if (m.has_unmapped) {
        drop = m.drop_unmapped;
        prefix = m.unmapped_prefix;
      }
    }
    // Unconsumed inputs whose key is an output path land in their slot unless a rule set it.
    if (!drop && prefix.empty()) {
      for (auto& f : record) {
        if (!f.consumed && f.slot != UINT32_MAX) {
          f.consumed = true;
          if (slot(f.slot) == nullptr) {
            write(f.slot, f.v);
          }
        }
      }
    }
    if (auto brace = prefix.find("{kind}"); brace != std::string_view::npos) {
      // An unknown kind takes its dot with it: `zeek.{kind}.` becomes `zeek.`, never `zeek..`.
      std::size_t skip = 6;
      if (kind.empty() && brace + skip < prefix.size() && prefix[brace + skip] == '.') {
        ++skip;
      }
      const std::size_t n = prefix.size() - skip + kind.size();
      char* p = scratch.alloc(n);
      std::memcpy(p, prefix.data(), brace);
      if (!kind.empty()) { // an empty kind may have a null data pointer (UB in memcpy)
        std::memcpy(p + brace, kind.data(), kind.size());
      }
      std::memcpy(p + brace + kind.size(), prefix.data() + brace + skip,
                  prefix.size() - brace - skip);
      prefix = {p, n};
    }
    for (auto mi : *list) {
      for (const auto& d : t.mappings[mi].derives) {
        run_derive(t, d);
      }
    }
    b.reset();
    b.begin_object();
    for (auto s : written) {
      b.key(t.slot_symbols[s]);
      emit(slot_val[s]);
    }
    if (!drop) {
      for (const auto& f : record) {
        if (f.consumed) {
          continue;
        }
        if (t.snake_case_unmapped) {
          b.key(snake_key(prefix, f.key, t.snake_case_depth));
        } else if (prefix.empty()) {
          if (f.sym != 0) {
            b.key(f.sym);
          } else {
            b.key(f.key);
          }
        } else {
          char* p = scratch.alloc(prefix.size() + f.key.size());
          std::memcpy(p, prefix.data(), prefix.size());
          std::memcpy(p + prefix.size(), f.key.data(), f.key.size());
          b.key(std::string_view{p, prefix.size() + f.key.size()});
        }
        if (!emit(f.v)) {
          return std::nullopt;
        }
      }
    }
    b.end_object();
    return b.finish();
  }

  const variant& pick_variant(const source_table& t, simdjson::dom::object obj) const {
    for (std::size_t i = 1; i < t.variants.size(); ++i) {
      if (!t.variants[i].xml && has_member(obj, t.variants[i].detect)) {
        return t.variants[i];
      }
    }
    return t.variants[0];
  }

  // True when the object has the member at `path` (`log.syslog`: `log` holding `syslog`).
  static bool has_member(simdjson::dom::object obj, std::string_view path) noexcept {
    while (true) {
      const auto dot = path.find('.');
      simdjson::dom::element el;
      if (obj.at_key(path.substr(0, dot)).get(el) != simdjson::SUCCESS) {
        return false;
      }
      if (dot == std::string_view::npos) {
        return true;
      }
      if (el.get_object().get(obj) != simdjson::SUCCESS) {
        return false;
      }
      path.remove_prefix(dot + 1);
    }
  }

  // Flattens the JSON text held by top-level field `key` (e.g. a Splunk `result._raw`) into the
  // record.
  bool merge_embedded(const source_table& t, const variant& var, std::string_view key) {
    const std::size_t n = record.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (record[i].key != key || record[i].v.type != value::tag::string ||
          !record[i].v.s.starts_with('{')) {
        continue;
      }
      record[i].consumed = true;
      const std::string_view text = record[i].v.s;
      inner_padded.assign(text);
      inner_padded.append(simdjson::SIMDJSON_PADDING, '\0');
      simdjson::dom::element doc;
      simdjson::dom::object obj;
      if (inner_parser.parse(inner_padded.data(), text.size(), false).get(doc) !=
              simdjson::SUCCESS ||
          doc.get_object().get(obj) != simdjson::SUCCESS) {
        return false;
      }
      return flatten(t, var, obj, {}, 1);
    }
    return true;
  }

  std::string_view kind_text(const source_table& t) {
    if (field* f = input(t.kind_input); f != nullptr && !is_null_text(t, f->v)) {
      return text_of(f->v, numbuf, sizeof numbuf);
    }
    return {};
  }

  // The kind of the record in the record: in order the source type's (`hint`), `kind_field`
  // (`_path`, `@stream`), the stream's header (`#path`), the first field signature the record
  // matches, then the file name when it is one of the table's `kinds_from_file_name`. Empty
  // when none says.
  std::string_view resolve_kind(const source_table& t, std::string_view hint,
                                std::string_view stream_path, std::string_view file_name) {
    if (!hint.empty()) {
      return hint;
    }
    if (auto k = kind_text(t); !k.empty()) {
      return scratch.copy(k); // a number's text lives in `numbuf`, which later rules reuse
    }
    if (!stream_path.empty() && stream_path != "-") {
      return stream_path;
    }
    for (const auto& sig : t.kind_signatures) {
      if (std::all_of(sig.inputs.begin(), sig.inputs.end(), [&](std::uint32_t id) {
            const field* f = input(id);
            return f != nullptr && !is_null_text(t, f->v);
          })) {
        return sig.kind;
      }
    }
    const auto stem = file_name_stem(file_name);
    for (const auto& k : t.file_name_kinds) {
      if (!stem.empty() && stem == k) {
        return k;
      }
    }
    return {};
  }

  expected<simdjson::dom::element, normalize_error> parse_json(source_type src,
                                                               std::string_view raw) {
    padded.assign(raw);
    padded.append(simdjson::SIMDJSON_PADDING, '\0');
    auto r = parser.parse(padded.data(), raw.size(), false);
    if (r.error() != simdjson::SUCCESS) {
      const errc code = r.error() == simdjson::DEPTH_ERROR ? errc::too_deep : errc::bad_json;
      return unexpected{fail(src, code, simdjson::error_message(r.error()), 0, raw)};
    }
    return r.value_unsafe();
  }

  expected<event::event, normalize_error> normalize_json(source_type src, std::string_view raw,
                                                         const context& ctx,
                                                         std::string_view kind_hint) {
    const source_table* t = by_source[static_cast<std::size_t>(src)];
    if (t == nullptr) {
      return unexpected{fail(src, errc::no_table,
                             "table '" + std::string(info(src).table) + "' not loaded", 0, raw)};
    }
    auto doc = parse_json(src, raw);
    if (!doc) {
      return unexpected{std::move(doc.error())};
    }
    simdjson::dom::object obj;
    if (doc->get_object().get(obj) != simdjson::SUCCESS) {
      return unexpected{fail(src, errc::bad_json, "expected a JSON object", 0, raw)};
    }
    begin(*t);
    const variant& var = pick_variant(*t, obj);
    if (!flatten(*t, var, obj, {}, 0)) {
      return unexpected{fail(src, errc::too_large, "too many fields", 0, raw)};
    }
    for (const auto& key : t->embedded_json) {
      if (!merge_embedded(*t, var, key)) {
        return unexpected{
            fail(src, errc::bad_json, "embedded record '" + key + "' is not valid JSON", 0, raw)};
      }
    }
    auto ev = run(*t, var, resolve_kind(*t, kind_hint, {}, ctx.file_name));
    if (!ev) {
      return unexpected{fail(src, errc::too_deep, "value nested too deeply", 0, raw)};
    }
    return std::move(*ev);
  }

  // CEF: `[syslog prefix] CEF:Version|Vendor|Product|Version|Class|Name|Severity|k=v k=v`.
  // Returns the byte offset of a format error, or npos on success.
  std::size_t parse_cef(const source_table& t, std::string_view line) {
    const variant& var = t.variants[0];
    const auto start = line.find("CEF:");
    if (start == std::string_view::npos) {
      return 0;
    }
    static constexpr std::string_view header_keys[] = {
        "cef.version",        "cef.device.vendor",         "cef.device.product",
        "cef.device.version", "cef.device.event_class_id", "cef.name",
        "cef.severity"};
    std::size_t pos = start + 4;
    for (std::size_t h = 0; h < std::size(header_keys); ++h) {
      // Header fields end at an unescaped '|'; `\|` and `\\` are escapes.
      std::size_t end = pos;
      bool escaped = false;
      while (end < line.size() && line[end] != '|') {
        if (line[end] == '\\' && end + 1 < line.size()) {
          escaped = true;
          ++end;
        }
        ++end;
      }
      if (end >= line.size()) {
        return end;
      }
      std::string_view text = line.substr(pos, end - pos);
      if (escaped) {
        text = unescape_cef(text);
      }
      add(t, var, header_keys[h], value::str(text));
      pos = end + 1;
    }
    // Extensions: a value runs until the space before the next `key=`.
    std::string_view ext = line.substr(pos);
    std::size_t i = 0;
    while (i < ext.size()) {
      while (i < ext.size() && ext[i] == ' ') {
        ++i;
      }
      const auto eq = ext.find('=', i);
      if (eq == std::string_view::npos) {
        break;
      }
      const std::string_view key = ext.substr(i, eq - i);
      std::size_t vend = eq + 1;
      std::size_t next = ext.size();
      bool escaped = false;
      for (std::size_t j = eq + 1; j < ext.size(); ++j) {
        if (ext[j] == '\\') {
          escaped = true;
          ++j;
          continue;
        }
        if (ext[j] == '=') {
          // Back up over the key to the space that starts it.
          std::size_t k = j;
          while (k > eq + 1 && ext[k - 1] != ' ') {
            --k;
          }
          if (k > eq + 1) {
            next = k;
            break;
          }
        }
      }
      vend = next;
      std::string_view val = ext.substr(eq + 1, vend - eq - 1);
      while (!val.empty() && val.back() == ' ') {
        val.remove_suffix(1);
      }
      if (escaped) {
        val = unescape_cef(val);
      }
      if (key.empty() || key.find(' ') != std::string_view::npos ||
          record.size() >= lim.max_fields) {
        return pos + i;
      }
      constexpr std::string_view prefix = "cef.extensions.";
      char* p = scratch.alloc(prefix.size() + key.size());
      std::memcpy(p, prefix.data(), prefix.size());
      std::memcpy(p + prefix.size(), key.data(), key.size());
      add(t, var, std::string_view{p, prefix.size() + key.size()}, value::str(val));
      i = vend;
    }
    return std::string_view::npos;
  }

  // `[<PRI>][syslog header] k=v k="quoted v" ...` (FortiGate style). The PRI becomes
  // `syslog.priority`; text before the first `key=` is ignored. Returns the byte
  // offset of a format error, or npos.
  std::size_t parse_kv(const source_table& t, std::string_view line) {
    const variant& var = t.variants[0];
    std::size_t i = 0;
    if (!line.empty() && line[0] == '<') {
      const auto close = line.find('>');
      if (close != std::string_view::npos && close <= 4) {
        add(t, var, "syslog.priority", value::str(line.substr(1, close - 1)));
        i = close + 1;
      }
    }
    bool any = false;
    while (i < line.size()) {
      while (i < line.size() && line[i] == ' ') {
        ++i;
      }
      const std::size_t key_start = i;
      while (i < line.size() && line[i] != '=' && line[i] != ' ') {
        ++i;
      }
      if (i >= line.size()) {
        break;
      }
      if (line[i] == ' ') {
        continue; // a word without '=' (syslog header text)
      }
      const std::string_view key = line.substr(key_start, i - key_start);
      ++i; // '='
      std::string_view val;
      if (i < line.size() && line[i] == '"') {
        const std::size_t start = ++i;
        bool escaped = false;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            escaped = true;
            ++i;
          }
          ++i;
        }
        // An unterminated quote (truncated syslog) runs to the end of the line.
        val = line.substr(start, std::min(i, line.size()) - start);
        if (escaped) {
          val = unescape_cef(val);
        }
        ++i;
      } else {
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ') {
          ++i;
        }
        val = line.substr(start, i - start);
      }
      if (key.empty() || record.size() >= lim.max_fields) {
        return key_start;
      }
      add(t, var, key, value::str(val));
      any = true;
    }
    return any ? std::string_view::npos : 0;
  }

  // `[syslog header] a,b,"c, with ""quotes""",...` (PAN-OS). The header (text before the
  // word holding the first comma) goes through parse_syslog; the columns are named by the
  // layout that the first `csv.type_columns` value with a layout picks. Returns the byte
  // offset of a format error, or npos.
  std::size_t parse_csv(const source_table& t, std::string_view line) {
    const variant& var = t.variants[0];
    const auto comma = line.find(',');
    if (comma == std::string_view::npos) {
      return 0;
    }
    std::size_t start = comma;
    while (start > 0 && line[start - 1] != ' ') {
      --start;
    }
    if (start > 0 && parse_syslog(t, line.substr(0, start - 1)) != std::string_view::npos) {
      return 0;
    }
    csv_cells.clear();
    csv_starts.clear();
    std::size_t i = start;
    while (true) {
      csv_starts.push_back(i);
      if (csv_cells.size() >= lim.max_fields) {
        return i;
      }
      if (i < line.size() && line[i] == '"') {
        // Quoted cell: `""` is a literal quote; a missing closing quote runs to the end.
        const std::size_t open = ++i;
        bool escaped = false;
        while (i < line.size()) {
          if (line[i] == '"') {
            if (i + 1 < line.size() && line[i + 1] == '"') {
              escaped = true;
              i += 2;
              continue;
            }
            break;
          }
          ++i;
        }
        std::string_view cell = line.substr(open, std::min(i, line.size()) - open);
        if (escaped) {
          char* p = scratch.alloc(cell.size());
          std::size_t n = 0;
          for (std::size_t k = 0; k < cell.size(); ++k) {
            p[n++] = cell[k];
            if (cell[k] == '"' && k + 1 < cell.size() && cell[k + 1] == '"') {
              ++k;
            }
          }
          cell = {p, n};
        }
        csv_cells.push_back(cell);
        i = std::min(i + 1, line.size());
        // Text between the closing quote and the next comma is dropped.
        while (i < line.size() && line[i] != ',') {
          ++i;
        }
      } else {
        const std::size_t b = i;
        while (i < line.size() && line[i] != ',') {
          ++i;
        }
        csv_cells.push_back(line.substr(b, i - b));
      }
      if (i >= line.size()) {
        break;
      }
      ++i; // ','
    }
    const std::vector<std::string>* layout = nullptr;
    std::size_t type_col = t.csv_type_columns.empty() ? 0 : t.csv_type_columns.front();
    for (const auto col : t.csv_type_columns) {
      if (col < csv_cells.size()) {
        if (auto it = t.csv_columns.find(key_of(csv_cells[col])); it != t.csv_columns.end()) {
          layout = &it->second;
          type_col = col;
          break;
        }
      }
    }
    if (const std::size_t tail = type_col + t.csv_tail_offset;
        !t.csv_tail_key.empty() && tail < csv_starts.size()) {
      add(t, var, t.csv_tail_key, value::str(line.substr(csv_starts[tail])));
    }
    if (layout == nullptr) {
      if (auto it = t.csv_columns.find("*"); it != t.csv_columns.end()) {
        layout = &it->second;
      } else {
        return start;
      }
    }
    const std::size_t n = std::min(layout->size(), csv_cells.size());
    for (std::size_t k = 0; k < n; ++k) {
      if (!(*layout)[k].empty()) {
        add(t, var, (*layout)[k], value::str(csv_cells[k]));
      }
    }
    return std::string_view::npos;
  }

  // LEEF 1.0 `[syslog] LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v` and 2.0
  // `LEEF:2.0|Vendor|Product|Version|EventID|Delim|k=v<Delim>k=v` (Delim a character, `xHH`
  // or `0xHH`; empty or absent means tab). Header fields become `leef.*`, attributes keep
  // their key; `devTime` (with `devTimeFormat`, a Java date pattern, or epoch ms) also
  // becomes `leef.dev_time` in ECS time text. Returns the offset of a format error, or npos.
  std::size_t parse_leef(const source_table& t, std::string_view line) {
    const variant& var = t.variants[0];
    const auto start = line.find("LEEF:");
    if (start == std::string_view::npos) {
      return 0;
    }
    if (start > 0) {
      std::string_view header = line.substr(0, start);
      while (!header.empty() && header.back() == ' ') {
        header.remove_suffix(1);
      }
      if (!header.empty()) {
        (void)parse_syslog(t, header);
      }
    }
    static constexpr std::string_view header_keys[] = {
        "leef.version", "leef.vendor", "leef.product", "leef.product_version", "leef.event_id"};
    std::size_t pos = start + 5;
    std::string_view version;
    for (std::size_t h = 0; h < std::size(header_keys); ++h) {
      const auto bar = line.find('|', pos);
      if (bar == std::string_view::npos) {
        return line.size();
      }
      const std::string_view text = line.substr(pos, bar - pos);
      if (h == 0) {
        version = text;
      }
      add(t, var, header_keys[h], value::str(text));
      pos = bar + 1;
    }
    char delim = '\t';
    if (version.starts_with("2")) {
      // The delimiter field is optional: take the text up to the next '|' when it is one.
      const auto bar = line.find('|', pos);
      if (bar != std::string_view::npos) {
        const std::string_view d = line.substr(pos, bar - pos);
        std::string_view hex = d;
        if (hex.starts_with("0x") || hex.starts_with("0X")) {
          hex.remove_prefix(2);
        } else if (hex.starts_with('x') || hex.starts_with('X')) {
          hex.remove_prefix(1);
        } else {
          hex = {};
        }
        unsigned code = 0;
        bool is_delim = false;
        if (!hex.empty() && hex.size() <= 4) {
          const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), code, 16);
          is_delim =
              r.ec == std::errc{} && r.ptr == hex.data() + hex.size() && code > 0 && code < 0x80;
        }
        if (is_delim) {
          delim = static_cast<char>(code);
        } else if (d.size() == 1 && d[0] != '=') {
          delim = d[0];
          is_delim = true;
        } else if (d.empty()) {
          is_delim = true;
        }
        if (is_delim) {
          add(t, var, "leef.delimiter", value::str(d));
          pos = bar + 1;
        }
      }
    }
    std::string_view dev_time;
    std::string_view dev_time_format;
    std::string_view attrs = line.substr(pos);
    std::size_t i = 0;
    while (i < attrs.size()) {
      auto end = attrs.find(delim, i);
      if (end == std::string_view::npos) {
        end = attrs.size();
      }
      std::string_view item = attrs.substr(i, end - i);
      i = end + 1;
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
        item.remove_prefix(1);
      }
      const auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        continue; // stray text between delimiters
      }
      const std::string_view key = item.substr(0, eq);
      std::string_view val = item.substr(eq + 1);
      while (!val.empty() && (val.back() == '\r' || val.back() == '\n')) {
        val.remove_suffix(1);
      }
      if (record.size() >= lim.max_fields) {
        return pos + (end - item.size());
      }
      if (key == "devTime") {
        dev_time = val;
      } else if (key == "devTimeFormat") {
        dev_time_format = val;
      }
      add(t, var, key, value::str(val));
    }
    if (!dev_time.empty()) {
      std::optional<std::int64_t> ns;
      if (!dev_time_format.empty()) {
        std::string pattern;
        if (java_date_pattern(dev_time_format, pattern)) {
          ns = parse_timestamp(dev_time, pattern, tz_of(t), now_ns);
        }
      } else {
        ns = parse_timestamp(dev_time, "epoch_auto", tz_of(t), now_ns);
        if (!ns) {
          ns = parse_timestamp(dev_time, "iso8601", tz_of(t), now_ns);
        }
        if (!ns) {
          ns = parse_timestamp(dev_time, "%b %d %Y %H:%M:%S", tz_of(t), now_ns);
        }
      }
      if (ns) {
        char* p = scratch.alloc(timestamp_buffer_size);
        add(t, var, "leef.dev_time", value::str({p, format_timestamp_into(p, *ns)}));
      }
    }
    return std::string_view::npos;
  }

  // Translates a Java SimpleDateFormat pattern (`MMM dd yyyy HH:mm:ss.SSS Z`) into this
  // library's strftime-like one. False for letters it cannot express.
  static bool java_date_pattern(std::string_view java, std::string& out) {
    out.clear();
    std::size_t i = 0;
    while (i < java.size()) {
      const char c = java[i];
      if (c == '\'') {
        const auto close = java.find('\'', i + 1);
        if (close == std::string_view::npos) {
          return false;
        }
        out.append(java.substr(i + 1, close - i - 1));
        i = close + 1;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(c))) {
        if (c == '%') {
          out += '%';
        }
        out += c;
        ++i;
        continue;
      }
      std::size_t n = 1;
      while (i + n < java.size() && java[i + n] == c) {
        ++n;
      }
      i += n;
      switch (c) {
      case 'y':
        out += "%Y";
        break;
      case 'M':
        out += n >= 3 ? "%b" : "%m";
        break;
      case 'd':
        out += n == 1 ? "%e" : "%d";
        break;
      case 'H':
        out += "%H";
        break;
      case 'm':
        out += "%M";
        break;
      case 's':
        out += "%S";
        break;
      case 'S':
        out += "%f";
        break;
      case 'Z':
      case 'X':
      case 'z':
        out += "%z";
        break;
      default:
        return false;
      }
    }
    return !out.empty();
  }

  std::string_view unescape_cef(std::string_view s) {
    char* p = scratch.alloc(s.size());
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        p[n++] = s[i] == 'n' ? '\n' : s[i] == 'r' ? '\r' : s[i];
      } else {
        p[n++] = s[i];
      }
    }
    return {p, n};
  }

  expected<event::event, normalize_error> normalize_text(source_type src, std::string_view raw) {
    const source_table* t = by_source[static_cast<std::size_t>(src)];
    if (t == nullptr) {
      return unexpected{fail(src, errc::no_table,
                             "table '" + std::string(info(src).table) + "' not loaded", 0, raw)};
    }
    std::string_view line = raw;
    std::size_t lead = 0;
    while (lead < raw.size() && (raw[lead] == ' ' || raw[lead] == '\t')) {
      ++lead;
    }
    // A shipper's JSON envelope carries the raw line in one of its fields, or (a variant
    // detects it) the fields it already decoded from the line.
    simdjson::dom::object envelope;
    bool has_envelope = false;
    if (lead < raw.size() && raw[lead] == '{') {
      auto doc = parse_json(src, raw);
      if (!doc) {
        return unexpected{std::move(doc.error())};
      }
      if (doc->get_object().get(envelope) != simdjson::SUCCESS) {
        return unexpected{fail(src, errc::bad_json, "expected a JSON object", 0, raw)};
      }
      if (const variant& var = pick_variant(*t, envelope); &var != &t->variants[0]) {
        return normalize_decoded(src, *t, var, envelope, raw);
      }
      has_envelope = true;
      line = {};
      for (const auto& key : t->envelope_fields) {
        std::string_view text;
        if (envelope.at_pointer(key).get(text) == simdjson::SUCCESS && !text.empty() &&
            (t->format != "cef" || text.find("CEF:") != std::string_view::npos) &&
            (t->format != "leef" || text.find("LEEF:") != std::string_view::npos)) {
          line = text;
          break;
        }
      }
      if (line.empty()) {
        return unexpected{fail(src, errc::bad_format, "no raw line in the JSON envelope", 0, raw)};
      }
    }
    begin(*t);
    const auto bad = t->format == "cef"    ? parse_cef(*t, line)
                     : t->format == "kv"   ? parse_kv(*t, line)
                     : t->format == "csv"  ? parse_csv(*t, line)
                     : t->format == "leef" ? parse_leef(*t, line)
                                           : parse_syslog(*t, line);
    if (bad != std::string_view::npos) {
      return unexpected{fail(src, errc::bad_format,
                             t->format == "cef"    ? "malformed CEF"
                             : t->format == "csv"  ? "malformed CSV line or unknown log type"
                             : t->format == "leef" ? "malformed LEEF"
                             : t->format == "kv"   ? "malformed key=value line"
                                                   : "malformed syslog PRI or structured data",
                             has_envelope ? 0 : bad, raw)};
    }
    for (const auto& d : t->header_dissects) {
      run_dissect(*t, d);
    }
    std::string_view kind = kind_text(*t);
    auto ev = run(*t, t->variants[0], kind);
    if (!ev) {
      return unexpected{fail(src, errc::too_deep, "value nested too deeply", 0, raw)};
    }
    return std::move(*ev);
  }

  // A JSON envelope whose shipper already decoded the wire format (a text-format table's variant
  // detected it): its fields are the inputs, through the variant's aliases.
  expected<event::event, normalize_error> normalize_decoded(source_type src, const source_table& t,
                                                            const variant& var,
                                                            simdjson::dom::object envelope,
                                                            std::string_view raw) {
    begin(t);
    if (!flatten(t, var, envelope, {}, 0)) {
      return unexpected{fail(src, errc::too_large, "too many fields", 0, raw)};
    }
    for (const auto& d : t.header_dissects) {
      run_dissect(t, d);
    }
    auto ev = run(t, var, kind_text(t));
    if (!ev) {
      return unexpected{fail(src, errc::too_deep, "value nested too deeply", 0, raw)};
    }
    return std::move(*ev);
  }

  // An XML rendering (Windows `<Event>`): leaves become inputs through the table's
  // `xml = true` variant; `EventData/Data` leaves get the `xml_data_prefix` key prefix.
  expected<event::event, normalize_error> normalize_xml(source_type src, std::string_view raw,
                                                        std::size_t lead) {
    const source_table* t = by_source[static_cast<std::size_t>(src)];
    const variant* var = nullptr;
    for (const auto& v : t->variants) {
      if (v.xml) {
        var = &v;
        break;
      }
    }
    if (var == nullptr) {
      return unexpected{fail(src, errc::bad_format, "no XML variant in the table", 0, raw)};
    }
    const auto bad = xml.flatten(raw.substr(lead),
                                 xml_limits{.max_depth = std::min<std::size_t>(lim.max_depth, 64),
                                            .max_leaves = lim.max_fields});
    if (bad != std::string::npos) {
      return unexpected{
          fail(src, errc::bad_format, "malformed or unsupported XML", lead + bad, raw)};
    }
    begin(*t);
    for (const auto& leaf : xml.leaves()) {
      std::string_view key = leaf.key;
      if (leaf.event_data) {
        constexpr std::string_view prefix = "winlog.event_data.";
        char* p = scratch.alloc(prefix.size() + key.size());
        std::memcpy(p, prefix.data(), prefix.size());
        std::memcpy(p + prefix.size(), key.data(), key.size());
        key = {p, prefix.size() + key.size()};
      }
      add(*t, *var, key, value::str(leaf.value));
    }
    auto ev = run(*t, *var, kind_text(*t));
    if (!ev) {
      return unexpected{fail(src, errc::too_deep, "value nested too deeply", 0, raw)};
    }
    return std::move(*ev);
  }

  expected<event::event, normalize_error> passthrough(source_type src, std::string_view raw) {
    auto doc = parse_json(src, raw);
    if (!doc) {
      return unexpected{std::move(doc.error())};
    }
    if (!doc->is_object()) {
      return unexpected{fail(src, errc::bad_json, "expected a JSON object", 0, raw)};
    }
    b.reset();
    if (!emit_json(*doc, 0)) {
      return unexpected{fail(src, errc::too_deep, "value nested too deeply", 0, raw)};
    }
    return b.finish();
  }
};

normalizer::normalizer() : impl_(std::make_unique<impl>()) {}
normalizer::~normalizer() = default;
normalizer::normalizer(normalizer&&) noexcept = default;
normalizer& normalizer::operator=(normalizer&&) noexcept = default;

normalizer::normalizer(const normalizer& other) : impl_(std::make_unique<impl>()) {
  *this = other;
}

normalizer& normalizer::operator=(const normalizer& other) {
  if (this != &other) {
    auto fresh = std::make_unique<impl>();
    fresh->lim = other.impl_->lim;
    fresh->tables = other.impl_->tables;
    fresh->by_source = other.impl_->by_source;
    // Failure here surfaces on first use as a parse error, never a crash.
    if (fresh->parser.allocate(std::min<std::size_t>(fresh->lim.max_bytes, 1 << 16),
                               fresh->lim.max_depth) != simdjson::SUCCESS) {
      fresh->parser = simdjson::dom::parser{};
    }
    impl_ = std::move(fresh);
  }
  return *this;
}

expected<normalizer, table_error> normalizer::create(std::span<const table_text> tables,
                                                     limits lim) {
  normalizer n;
  n.impl_->lim = lim;
  for (const auto& text : tables) {
    auto t = compile_table(text);
    if (!t) {
      return unexpected{std::move(t.error())};
    }
    std::shared_ptr<const source_table> shared = std::move(*t);
    n.impl_->bind(shared.get());
    n.impl_->tables.push_back(std::move(shared));
  }
  if (n.impl_->parser.allocate(std::min<std::size_t>(lim.max_bytes, 1 << 16), lim.max_depth) !=
      simdjson::SUCCESS) {
    return unexpected{table_error{"", "cannot allocate the JSON parser"}};
  }
  return n;
}

bool normalizer::has_table(source_type source) const noexcept {
  return source == source_type::ecs ||
         impl_->by_source[static_cast<std::size_t>(source)] != nullptr;
}

namespace {

// The record a syslog frame carries when it is JSON or XML (`<134>1 2026-... host zeek - - -
// {"ts":...}`, `<13>Oct 22 08:29:55 host nxlog: {"EventID":...}`): forwarders (rsyslog imfile,
// NXLog, syslog-ng) wrap structured logs so. The envelope is transport: the record is the event.
std::optional<std::string_view> framed_record(std::string_view raw) noexcept {
  std::size_t i = 0;
  while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t'))
    ++i;
  if (i + 2 >= raw.size() || raw[i] != '<' || raw[i + 1] < '0' || raw[i + 1] > '9') return {};
  auto h = detail::parse_syslog_header(raw.substr(i));
  if (!h.ok) return {};
  auto m = h.message;
  while (!m.empty() && (m.front() == ' ' || m.front() == '\t'))
    m.remove_prefix(1);
  if (m.empty() || (m.front() != '{' && m.front() != '<')) return {};
  return m;
}

} // namespace

expected<event::event, normalize_error>
normalizer::normalize(source_type source, std::string_view raw, const context& ctx) {
  auto& im = *impl_;
  if (const source_table* t = im.by_source[static_cast<std::size_t>(source)];
      source == source_type::ecs ||
      (t != nullptr && (t->format == "json" || t->format == "zeek"))) {
    if (auto record = framed_record(raw)) {
      auto ev = normalize(source, *record, ctx);
      if (!ev) { // the dead letter keeps the whole line, the offset points into it
        ev.error().offset += static_cast<std::size_t>(record->data() - raw.data());
        ev.error().raw.assign(raw);
      }
      return ev;
    }
  }
  im.now_ns = ctx.now_ns;
  im.tz_override = ctx.tz_offset_s;
  if (raw.size() > im.lim.max_bytes) {
    return unexpected{im.fail(source, errc::too_large,
                              "input of " + std::to_string(raw.size()) + " bytes exceeds the limit",
                              im.lim.max_bytes, raw)};
  }
  if (source == source_type::ecs) {
    return im.passthrough(source, raw);
  }
  if (!info(source).implemented) {
    return unexpected{
        im.fail(source, errc::not_implemented, "source type not implemented yet", 0, raw)};
  }
  if (const source_table* t = im.by_source[static_cast<std::size_t>(source)];
      t != nullptr && (t->format == "cef" || t->format == "kv" || t->format == "syslog" ||
                       t->format == "csv" || t->format == "leef")) {
    return im.normalize_text(source, raw);
  }
  std::size_t lead = 0;
  while (lead < raw.size() && (raw[lead] == ' ' || raw[lead] == '\t')) {
    ++lead;
  }
  if (lead < raw.size() && raw[lead] == '<' &&
      im.by_source[static_cast<std::size_t>(source)] != nullptr &&
      im.by_source[static_cast<std::size_t>(source)]->format == "json") {
    return im.normalize_xml(source, raw, lead);
  }
  if (lead == raw.size() || raw[lead] != '{') {
    if (im.by_source[static_cast<std::size_t>(source)] != nullptr &&
        im.by_source[static_cast<std::size_t>(source)]->format == "zeek") {
      return unexpected{im.fail(source, errc::missing_header,
                                "Zeek TSV line outside a stream (use stream_reader)", lead, raw)};
    }
    return unexpected{im.fail(source, errc::bad_json, "expected a JSON object", lead, raw)};
  }
  return im.normalize_json(source, raw, ctx, zeek_kind_of(source));
}

// --- stream reader (Zeek TSV headers) ---------------------------------------

struct stream_reader::state {
  context ctx;
  std::string separator = "\t";
  std::string set_separator = ",";
  std::string unset = "-";
  std::string empty = "(empty)";
  std::string path;
  std::vector<std::string> fields;
  std::vector<std::string> types;
  std::string unescaped; // scratch for \x escapes
};

stream_reader::stream_reader(normalizer& n, source_type source, context ctx)
    : n_(&n), source_(source), state_(std::make_unique<state>()) {
  state_->ctx = ctx;
}
stream_reader::~stream_reader() = default;
stream_reader::stream_reader(stream_reader&&) noexcept = default;
stream_reader& stream_reader::operator=(stream_reader&&) noexcept = default;

namespace {

// Decodes `\xNN` escapes of Zeek header values and data.
std::string unescape_header(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] == 'x') {
      unsigned v = 0;
      auto r = std::from_chars(s.data() + i + 2, s.data() + i + 4, v, 16);
      if (r.ec == std::errc{}) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<std::string> split_all(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  while (true) {
    auto pos = s.find(sep);
    out.emplace_back(s.substr(0, pos));
    if (pos == std::string_view::npos) {
      break;
    }
    s.remove_prefix(pos + sep.size());
  }
  return out;
}

} // namespace

expected<std::optional<event::event>, normalize_error> stream_reader::next(std::string_view line) {
  auto& im = *n_->impl_;
  im.now_ns = state_->ctx.now_ns;
  im.tz_override = state_->ctx.tz_offset_s;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (line.empty()) {
    return std::optional<event::event>{};
  }
  if (line.size() > im.lim.max_bytes) {
    return unexpected{
        im.fail(source_, errc::too_large, "line exceeds the size limit", im.lim.max_bytes, line)};
  }
  const source_table* t = im.by_source[static_cast<std::size_t>(source_)];
  const bool zeek = t != nullptr && t->format == "zeek";
  // JSON, or a record in a syslog frame: not a TSV line.
  if (!zeek || line.front() == '{' || line.front() == ' ' || line.front() == '<') {
    auto ev = n_->normalize(source_, line, state_->ctx);
    if (!ev) {
      return unexpected{std::move(ev.error())};
    }
    return std::optional<event::event>{std::move(*ev)};
  }
  auto& st = *state_;
  if (line.front() == '#') {
    auto directive = line.substr(1);
    if (directive.starts_with("separator ")) {
      st.separator = unescape_header(directive.substr(10));
      if (st.separator.empty()) {
        st.separator = "\t";
      }
      return std::optional<event::event>{};
    }
    auto sep = directive.find(st.separator);
    const auto name = directive.substr(0, sep);
    const auto rest = sep == std::string_view::npos ? std::string_view{}
                                                    : directive.substr(sep + st.separator.size());
    if (name == "set_separator") {
      st.set_separator = unescape_header(rest);
    } else if (name == "empty_field") {
      st.empty = std::string(rest);
    } else if (name == "unset_field") {
      st.unset = std::string(rest);
    } else if (name == "path") {
      st.path = std::string(rest);
    } else if (name == "fields") {
      st.fields = split_all(rest, st.separator);
      if (st.fields.size() > im.lim.max_fields) {
        st.fields.clear();
        return unexpected{im.fail(source_, errc::too_large, "too many #fields", 0, line)};
      }
    } else if (name == "types") {
      st.types = split_all(rest, st.separator);
    }
    return std::optional<event::event>{};
  }
  if (st.fields.empty()) {
    return unexpected{im.fail(source_, errc::missing_header,
                              "Zeek TSV data line before a #fields header", 0, line)};
  }
  im.begin(*t);
  const variant& var = t->variants[0];
  std::string_view rest = line;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < st.fields.size(); ++i) {
    auto pos = rest.find(st.separator);
    std::string_view cell = rest.substr(0, pos);
    if (pos == std::string_view::npos && i + 1 < st.fields.size()) {
      // Shorter rows are tolerated (labelled datasets append columns; some truncate).
      rest = {};
    }
    std::string_view type = i < st.types.size() ? std::string_view(st.types[i]) : "string";
    if (cell != st.unset) {
      value v;
      if (cell == st.empty) {
        if (type.starts_with("set") || type.starts_with("vector")) {
          v.type = value::tag::list;
          v.s = {};
        } else {
          v = value::str({});
        }
      } else if (type == "count" || type == "int" || type == "port") {
        std::int64_t x = 0;
        auto r = std::from_chars(cell.data(), cell.data() + cell.size(), x);
        v = r.ec == std::errc{} && r.ptr == cell.data() + cell.size() ? value::integer(x)
                                                                      : value::str(cell);
      } else if (type == "double" || type == "interval") {
        double x = 0;
        auto r = std::from_chars(cell.data(), cell.data() + cell.size(), x);
        v = r.ec == std::errc{} && r.ptr == cell.data() + cell.size() ? value::real(x)
                                                                      : value::str(cell);
      } else if (type == "bool") {
        v = cell == "T"   ? value::boolean(true)
            : cell == "F" ? value::boolean(false)
                          : value::str(cell);
      } else if (type.starts_with("set") || type.starts_with("vector")) {
        v.type = value::tag::list;
        v.s = cell;
        v.sep = st.set_separator.empty() ? ',' : st.set_separator[0];
      } else {
        if (cell.find("\\x") != std::string_view::npos) {
          cell = im.scratch.copy(unescape_header(cell));
        }
        v = value::str(cell); // time stays text: epoch parsing is exact on text
      }
      im.add(*t, var, st.fields[i], v);
    }
    if (pos == std::string_view::npos) {
      break;
    }
    offset += pos + st.separator.size();
    rest.remove_prefix(pos + st.separator.size());
  }
  auto ev = im.run(*t, var, im.resolve_kind(*t, zeek_kind_of(source_), st.path, st.ctx.file_name));
  if (!ev) {
    return unexpected{im.fail(source_, errc::too_deep, "value nested too deeply", offset, line)};
  }
  return std::optional<event::event>{std::move(*ev)};
}

} // namespace chainwatch::normalize
