#include <chainwatch/event/event.hpp>

#include <absl/container/flat_hash_map.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <shared_mutex>

namespace chainwatch::event {

namespace {

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

// Per-thread front cache; its keys view the global storage, so they stay valid.
struct local_cache {
  absl::flat_hash_map<std::string_view, symbol> map;
};

local_cache& cache() {
  thread_local local_cache c;
  return c;
}

constexpr std::size_t max_cache_entries = 1 << 20;

void remember(local_cache& c, std::string_view stored, symbol s) {
  if (c.map.size() >= max_cache_entries) c.map.clear();
  c.map.emplace(stored, s);
}

} // namespace

symbol symbols::intern(std::string_view name) {
  local_cache& c = cache();
  if (auto it = c.map.find(name); it != c.map.end()) return it->second;
  interner& g = global();
  {
    std::shared_lock lock(g.mutex);
    if (auto it = g.by_name.find(name); it != g.by_name.end()) {
      remember(c, it->first, it->second);
      return it->second;
    }
  }
  std::unique_lock lock(g.mutex);
  if (auto it = g.by_name.find(name); it != g.by_name.end()) {
    remember(c, it->first, it->second);
    return it->second;
  }
  symbol s = g.add_locked(name);
  remember(c, symbols::name(s), s);
  return s;
}

symbol symbols::find(std::string_view name) {
  local_cache& c = cache();
  if (auto it = c.map.find(name); it != c.map.end()) return it->second;
  interner& g = global();
  std::shared_lock lock(g.mutex);
  if (auto it = g.by_name.find(name); it != g.by_name.end()) {
    remember(c, it->first, it->second);
    return it->second;
  }
  return 0;
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
