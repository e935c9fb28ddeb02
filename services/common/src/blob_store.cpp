#include <chainwatch/service/blob_store.hpp>
#include <cstdio>

namespace chainwatch::service {
namespace {

std::string chunk_key(const std::string& name, std::uint64_t gen, std::uint64_t i) {
  return name + ".g" + std::to_string(gen) + "." + std::to_string(i);
}

} // namespace

nats_result<std::optional<blob_store::header>> blob_store::read_header(const std::string& name) {
  auto e = kv_.get(name);
  if (!e) return unexpected{e.error()};
  if (!*e) return std::optional<header>{};
  unsigned long long g = 0, c = 0, b = 0;
  if (std::sscanf((*e)->value.c_str(), "%llu %llu %llu", &g, &c, &b) != 3)
    return std::optional<header>{};
  return std::optional<header>{header{g, c, b}};
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
  std::size_t off = 0;
  do {
    auto r = kv_.put(chunk_key(name, h.generation % 2, h.chunks), bytes.substr(off, chunk_bytes));
    if (!r) return unexpected{r.error()};
    ++h.chunks;
    off += chunk_bytes;
  } while (off < bytes.size());
  auto text =
      std::to_string(h.generation) + " " + std::to_string(h.chunks) + " " + std::to_string(h.bytes);
  if (auto r = kv_.put(name, text); !r) {
    last_.erase(name);
    return unexpected{r.error()};
  }
  last_[name] = h;
  // Chunk keys alternate between two generations (parity), so the next save overwrites the
  // previous-but-one generation in place; only the tail of a larger one is left to delete.
  if (old && old->chunks > h.chunks && (old->generation % 2) == (h.generation % 2))
    for (std::uint64_t i = h.chunks; i < old->chunks; ++i)
      (void)kv_.erase(chunk_key(name, h.generation % 2, i));
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
    auto e = kv_.get(chunk_key(name, (*h)->generation % 2, i));
    if (!e) return unexpected{e.error()};
    if (!*e) return unexpected{nats_error{0, 0, "blob " + name + ": chunk missing"}};
    out += (*e)->value;
  }
  if (out.size() != (*h)->bytes)
    return unexpected{nats_error{0, 0, "blob " + name + ": size mismatch"}};
  last_[name] = **h; // the next save writes the other parity
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
