#include <absl/container/flat_hash_map.h>
#include <atomic>
#include <chainwatch/base/assert.hpp>
#include <chainwatch/event/event.hpp>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>

namespace chainwatch::event {

namespace {

// The coded keys (symbols::code): ECS and vendor key names, one per segment of a dotted field
// name. APPEND-ONLY: a name's position is its code on the wire and in stored checkpoints, so an
// entry is never removed, reordered or renamed; new names go at the end. They are interned
// first, right after the two empty-name symbols, so a coded key's symbol is its code + 2.
constexpr std::string_view coded_keys[] = {
    "@timestamp",
    "event",
    "category",
    "type",
    "action",
    "outcome",
    "code",
    "id",
    "kind",
    "module",
    "dataset",
    "provider",
    "created",
    "ingested",
    "duration",
    "severity",
    "original",
    "reason",
    "start",
    "end",
    "user",
    "name",
    "domain",
    "full_name",
    "email",
    "target",
    "source",
    "destination",
    "client",
    "server",
    "ip",
    "port",
    "address",
    "bytes",
    "packets",
    "mac",
    "nat",
    "geo",
    "country_iso_code",
    "as",
    "number",
    "organization",
    "host",
    "hostname",
    "os",
    "family",
    "version",
    "platform",
    "network",
    "transport",
    "protocol",
    "direction",
    "community_id",
    "application",
    "http",
    "request",
    "response",
    "method",
    "status_code",
    "body",
    "referrer",
    "mime_type",
    "url",
    "path",
    "full",
    "query",
    "scheme",
    "extension",
    "registered_domain",
    "top_level_domain",
    "subdomain",
    "file",
    "hash",
    "md5",
    "sha1",
    "sha256",
    "size",
    "process",
    "pid",
    "executable",
    "command_line",
    "args",
    "parent",
    "dns",
    "question",
    "answers",
    "resolved_ip",
    "data",
    "rule",
    "description",
    "observer",
    "vendor",
    "product",
    "winlog",
    "event_id",
    "channel",
    "logon",
    "computer_name",
    "record_id",
    "event_data",
    "provider_name",
    "agent",
    "ecs",
    "log",
    "level",
    "message",
    "labels",
    "tags",
    "related",
    "hosts",
    "user_agent",
    "sequence",
    "timezone",
    "risk_score",
    "roles",
    "effective",
    "changes",
    "country_name",
    "city_name",
    "region_name",
    "location",
    "architecture",
    "iana_number",
    "zone",
    "entity_id",
    "title",
    "ttl",
    "class",
    // Codes from 128 on take two bytes.
    "response_code",
    "directory",
    "ruleset",
    "uuid",
    "serial_number",
    "ingress",
    "egress",
    "interface",
    "device",
    "tls",
    "cipher",
    "established",
    "cloud",
    "account",
    "region",
    "instance",
    "service",
    "threat",
    "technique",
    "tactic",
    "framework",
    "error",
    "container",
    "image",
    "o365",
    "azure",
    "signinlogs",
    "auditlogs",
    "properties",
    "zeek",
    "uid",
    "conn",
    "state",
    "history",
    "ssh",
    "ssl",
    "files",
    "notice",
    "x509",
    "certificate",
    "subject",
    "issuer",
    "policy",
    "group",
    "session",
    "authentication",
    "result",
    "sub_category",
    "tenant_id",
    "data_stream",
    "namespace",
    "syslog",
    "facility",
    "priority",
    "appname",
    "msgid",
    "task",
    "keywords",
    "opcode",
    "user_data",
    "process_id",
    "thread_id",
    "header_flags",
    "op_code",
    "fragment",
    "headers",
    "pe",
    "working_directory",
    "kernel",
    "vlan",
    "inner",
    "lat",
    "lon",
    "ephemeral_id",
    "logger",
    "panw",
    "panos",
    "cef",
    "extensions",
    "fortinet",
    "fortigate",
    "cisco",
    "asa",
    "leef",
    "sentinel",
    "src",
    "dst",
    "application_name",
    "virtual_sys",
    "vsys_name",
    "device_name",
    "flow_id",
    "serial",
    "object",
    "audit",
    "client_ip",
    "status",
    "sequence_number",
    "time_created",
    "high_resolution_timestamp",
    "rule_uuid",
    "repeat_count",
    "orig_h",
    "resp_h",
    "orig_p",
    "resp_p",
};
constexpr symbol first_coded_symbol = 2;
constexpr std::size_t coded_key_count = std::size(coded_keys);

// Names are published in fixed-size chunks behind atomic pointers so that
// `symbols::name` (called per key when encoding) never takes a lock.
constexpr std::size_t chunk_bits = 12;
constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;
constexpr std::size_t max_chunks = std::size_t{1} << 16;

struct interner {
  std::shared_mutex mutex;
  absl::flat_hash_map<std::string_view, symbol> by_name;
  std::deque<std::string> storage; // stable addresses for the string_views
  std::atomic<std::string_view*> chunks[max_chunks] = {};
  symbol next = 0;

  interner() {
    // Symbol 0 is "no key"; the empty name gets a real symbol so `{"": 1}` round-trips.
    add_locked(std::string_view{});
    by_name.clear();
    add_locked(std::string_view{});
    for (std::string_view name : coded_keys) {
      CW_ASSERT(!by_name.contains(name)); // a duplicate would shift every later code
      add_locked(name);
    }
  }

  symbol add_locked(std::string_view name) {
    symbol s = next;
    std::size_t chunk = s >> chunk_bits;
    CW_ASSERT(chunk < max_chunks);
    std::string_view* block = chunks[chunk].load(std::memory_order_relaxed);
    if (block == nullptr) {
      block = new std::string_view[chunk_size];
      chunks[chunk].store(block, std::memory_order_release);
    }
    const std::string& stored = storage.emplace_back(name);
    block[s & (chunk_size - 1)] = stored;
    by_name.emplace(std::string_view(stored), s);
    ++next;
    return s;
  }
};

interner& global() {
  // Leaked on purpose: names must stay valid during static destruction.
  static interner* g = new interner();
  return *g;
}

// Per-thread, direct-mapped front cache in front of the locked map. A slot
// holds a name's length, its first and last 8 bytes (overlapping loads, so
// they cover names up to 16 bytes exactly), a view of the global storage for
// the middle of longer names, and its symbol. A collision just evicts. This is
// much cheaper than a full string hash plus memcmp, and bounded in memory
// whatever keys arrive.
struct probe {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::size_t size = 0;
};

struct cache_slot {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  const char* data = nullptr;
  std::uint32_t size = 0;
  symbol sym = 0;
};

constexpr std::size_t cache_bits = 11;

struct local_cache {
  cache_slot slots[std::size_t{1} << cache_bits];
};

local_cache& cache() {
  thread_local local_cache c;
  return c;
}

inline probe make_probe(std::string_view s) noexcept {
  probe r;
  const std::size_t n = s.size();
  const char* p = s.data();
  r.size = n;
  // Fixed-size loads only: a variable-length memcpy into a word stalls store forwarding.
  if (n >= 8) {
    std::memcpy(&r.head, p, 8);
    std::memcpy(&r.tail, p + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t x;
    std::uint32_t y;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);
    r.head = x | (std::uint64_t{y} << 32);
  } else if (n > 0) {
    r.head = static_cast<unsigned char>(p[0]) | (static_cast<unsigned char>(p[n / 2]) << 8) |
             (static_cast<unsigned char>(p[n - 1]) << 16);
  }
  return r;
}

inline std::size_t slot_of(const probe& k, std::string_view s) noexcept {
  std::uint64_t a = k.head;
  if (k.size > 16) {
    std::uint64_t mid;
    std::memcpy(&mid, s.data() + k.size / 2 - 4, 8);
    a ^= mid * 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t h = (a ^ (k.tail * 0xc2b2ae3d27d4eb4fULL) ^ k.size) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  return static_cast<std::size_t>(h >> (64 - cache_bits));
}

inline void remember(cache_slot& slot, const probe& k, std::string_view stored, symbol s) {
  slot.head = k.head;
  slot.tail = k.tail;
  slot.data = stored.data();
  slot.size = static_cast<std::uint32_t>(stored.size());
  slot.sym = s;
}

inline bool hit(const cache_slot& slot, const probe& k, std::string_view name) noexcept {
  if (slot.data == nullptr || slot.size != k.size || slot.head != k.head || slot.tail != k.tail)
    return false;
  return k.size <= 16 || std::memcmp(slot.data + 8, name.data() + 8, k.size - 16) == 0;
}

} // namespace

symbol symbols::intern(std::string_view name) {
  const probe k = make_probe(name);
  cache_slot& slot = cache().slots[slot_of(k, name)];
  if (hit(slot, k, name)) return slot.sym;
  interner& g = global();
  {
    std::shared_lock lock(g.mutex);
    if (auto it = g.by_name.find(name); it != g.by_name.end()) {
      remember(slot, k, it->first, it->second);
      return it->second;
    }
  }
  std::unique_lock lock(g.mutex);
  if (auto it = g.by_name.find(name); it != g.by_name.end()) {
    remember(slot, k, it->first, it->second);
    return it->second;
  }
  symbol s = g.add_locked(name);
  remember(slot, k, symbols::name(s), s);
  return s;
}

symbol symbols::find(std::string_view name) {
  const probe k = make_probe(name);
  cache_slot& slot = cache().slots[slot_of(k, name)];
  if (hit(slot, k, name)) return slot.sym;
  interner& g = global();
  std::shared_lock lock(g.mutex);
  if (auto it = g.by_name.find(name); it != g.by_name.end()) {
    remember(slot, k, it->first, it->second);
    return it->second;
  }
  return 0;
}

std::uint32_t symbols::code(symbol s) noexcept {
  return s - first_coded_symbol < coded_key_count ? s - first_coded_symbol + 1 : 0;
}

symbol symbols::of_code(std::uint64_t code) {
  if (code >= coded_key_count) return 0;
  global(); // the coded keys are interned when the table is made
  return first_coded_symbol + static_cast<symbol>(code);
}

std::string_view symbols::name(symbol s) {
  interner& g = global();
  std::size_t chunk = s >> chunk_bits;
  if (chunk >= max_chunks) return {};
  const std::string_view* block = g.chunks[chunk].load(std::memory_order_acquire);
  // A symbol only reaches a caller after it was published, so a null block
  // means the caller made the number up.
  if (block == nullptr) return {};
  return block[s & (chunk_size - 1)];
}

} // namespace chainwatch::event
