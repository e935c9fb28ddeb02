#include <chainwatch/service/blob_store.hpp>
#include <cstdio>
#include <optional>
#include <random>
#include <string_view>

namespace chainwatch::service {
namespace {

std::string chunk_key(const std::string& name, std::uint64_t gen, const std::string& writer,
                      std::uint64_t i) {
  return name + ".g" + std::to_string(gen % 2) + "." + (writer.empty() ? "" : writer + ".") +
         std::to_string(i);
}

bool all_of(std::string_view s, bool (*ok)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!ok(c)) return false;
  return true;
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}
bool hex(char c) {
  return digit(c) || (c >= 'a' && c <= 'f');
}

/// `key` is a chunk of blob `name`: `<name>.g<0|1>.[<writer>.]<i>`; the writer, or "" if none.
std::optional<std::string_view> chunk_writer(std::string_view name, std::string_view key) {
  if (!key.starts_with(name) || key.size() < name.size() + 5) return std::nullopt;
  auto rest = key.substr(name.size());
  if (!rest.starts_with(".g0.") && !rest.starts_with(".g1.")) return std::nullopt;
  rest.remove_prefix(4);
  auto dot = rest.find('.');
  if (dot == std::string_view::npos)
    return all_of(rest, digit) ? std::optional{std::string_view{}} : std::nullopt;
  if (!all_of(rest.substr(0, dot), hex) || !all_of(rest.substr(dot + 1), digit))
    return std::nullopt;
  return rest.substr(0, dot);
}

} // namespace

blob_store::blob_store(kv_bucket& kv) : kv_(kv) {
  std::random_device rd;
  char id[17];
  std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
  writer_ = id;
}

nats_result<std::optional<blob_store::header>> blob_store::read_header(const std::string& name) {
  auto e = kv_.get(name);
  if (!e) return unexpected{e.error()};
  if (!*e) return std::optional<header>{};
  unsigned long long g = 0, c = 0, b = 0;
  char w[33] = "";
  if (std::sscanf((*e)->value.c_str(), "%llu %llu %llu %32s", &g, &c, &b, w) < 3)
    return std::optional<header>{};
  return std::optional<header>{header{g, c, b, w, (*e)->revision}};
}

nats_result<std::size_t> blob_store::save(const std::string& name, std::string_view bytes) {
  std::lock_guard lock(mutex_);
  // The header this store last wrote or read spares a round trip; otherwise read it.
  std::optional<header> old;
  if (auto it = last_.find(name); it != last_.end()) {
    old = it->second;
  } else {
    auto h = read_header(name);
    if (!h) return unexpected{h.error()};
    old = *h;
  }
  header h;
  h.generation = old ? old->generation + 1 : 1;
  h.bytes = bytes.size();
  h.writer = writer_;
  std::size_t off = 0;
  do {
    auto r =
        kv_.put(chunk_key(name, h.generation, h.writer, h.chunks), bytes.substr(off, chunk_bytes));
    if (!r) return unexpected{r.error()};
    ++h.chunks;
    off += chunk_bytes;
  } while (off < bytes.size());
  auto text = std::to_string(h.generation) + " " + std::to_string(h.chunks) + " " +
              std::to_string(h.bytes) + " " + h.writer;
  // Compare-and-set: another store's header since ours (a new owner's) stays.
  auto r = old ? kv_.update(name, text, old->revision) : kv_.create(name, text);
  if (!r) {
    last_.erase(name); // the next save reads the header again
    return unexpected{r.error()};
  }
  h.revision = *r;
  last_[name] = h;
  if (old && old->writer != writer_) {
    // Taken over: the previous writer's chunks (both generations) are no longer named.
    if (auto keys = kv_.keys())
      for (const auto& k : *keys)
        if (auto w = chunk_writer(name, k); w && *w != writer_) (void)kv_.erase(k);
  } else if (old && old->chunks > h.chunks && (old->generation % 2) == (h.generation % 2)) {
    // Chunk keys alternate between two generations (parity), so the next save overwrites the
    // previous-but-one generation in place; only the tail of a larger one is left to delete.
    for (std::uint64_t i = h.chunks; i < old->chunks; ++i)
      (void)kv_.erase(chunk_key(name, h.generation, h.writer, i));
  }
  return bytes.size();
}

nats_result<std::optional<std::string>> blob_store::load(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto h = read_header(name);
  if (!h) return unexpected{h.error()};
  if (!*h) return std::optional<std::string>{};
  std::string out;
  out.reserve((*h)->bytes);
  for (std::uint64_t i = 0; i < (*h)->chunks; ++i) {
    auto e = kv_.get(chunk_key(name, (*h)->generation, (*h)->writer, i));
    if (!e) return unexpected{e.error()};
    if (!*e) return unexpected{nats_error{0, 0, "blob " + name + ": chunk missing"}};
    out += (*e)->value;
  }
  if (out.size() != (*h)->bytes)
    return unexpected{nats_error{0, 0, "blob " + name + ": size mismatch"}};
  last_[name] = **h; // the next save writes the other parity, if the header is still this one
  return std::optional<std::string>{std::move(out)};
}

nats_result<std::vector<std::string>> blob_store::names() {
  auto keys = kv_.keys();
  if (!keys) return unexpected{keys.error()};
  std::vector<std::string> out;
  for (auto& k : *keys)
    if (k.find(".g") == std::string::npos) out.push_back(std::move(k));
  return out;
}

} // namespace chainwatch::service
