#pragma once

// Compact per-key matching state, shared by the engine's key table and the public
// key_state: the records of every rule at one key in one small word vector, with
// events held once per owner in an event_store and named by 4-byte slot ids.

#include "compiled.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace chainwatch::engine::detail {

/// Events bound by pending records (and events waiting to be processed), shared by all keys
/// of one owner. Each event is held once (pointer, time, reference count) and named by a
/// 4-byte slot id. Storage is fixed-size chunks, so growing copies nothing and wastes at most
/// one chunk; freed slots are reused (last freed first).
class event_store {
public:
  explicit event_store(unsigned chunk_shift) : shift_(chunk_shift) {}
  event_store(event_store&&) noexcept = default;
  event_store& operator=(event_store&&) noexcept = default;

  /// A new slot holding `ev` with one reference.
  std::uint32_t add(event::event_ptr ev, std::int64_t ts) {
    std::uint32_t s;
    if (free_head_ != ~0u) {
      s = free_head_;
      free_head_ = at(s).next_free;
    } else {
      if ((size_ >> shift_) == chunks_.size())
        chunks_.push_back(std::make_unique<entry[]>(std::size_t{1} << shift_));
      s = size_++;
    }
    entry& e = at(s);
    e.ev = std::move(ev);
    e.ts = ts;
    e.refs = 1;
    ++live_;
    return s;
  }
  void ref(std::uint32_t s) noexcept { ++at(s).refs; }
  void release(std::uint32_t s) noexcept {
    entry& e = at(s);
    if (--e.refs != 0) return;
    e.ev.reset();
    e.next_free = free_head_;
    free_head_ = s;
    --live_;
  }
  std::int64_t ts(std::uint32_t s) const noexcept { return at(s).ts; }
  const event::event_ptr& ev(std::uint32_t s) const noexcept { return at(s).ev; }
  /// Slots in use.
  std::size_t live() const noexcept { return live_; }
  /// Calls f(slot, event, time, references) for every slot in use (snapshots).
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t s = 0; s < size_; ++s)
      if (const entry& e = at(s); e.refs != 0) f(s, e.ev, e.ts, e.refs);
  }
  /// Puts an event at `slot` (restoring a snapshot into an empty store); call
  /// rebuild_free_list() after the last one.
  void restore(std::uint32_t slot, event::event_ptr ev, std::int64_t ts, std::uint32_t refs) {
    while ((slot >> shift_) >= chunks_.size())
      chunks_.push_back(std::make_unique<entry[]>(std::size_t{1} << shift_));
    entry& e = at(slot);
    if (e.refs == 0) ++live_;
    e.ev = std::move(ev);
    e.ts = ts;
    e.refs = refs == 0 ? 1 : refs;
    size_ = std::max(size_, slot + 1);
  }
  /// Chains every unused slot below the highest one in use into the free list.
  void rebuild_free_list() noexcept {
    free_head_ = ~0u;
    for (std::uint32_t s = size_; s-- > 0;)
      if (entry& e = at(s); e.refs == 0) {
        e.next_free = free_head_;
        free_head_ = s;
      }
  }
  /// Heap bytes (chunks and the chunk table, glibc rounding included).
  std::size_t memory_bytes() const noexcept {
    return chunks_.size() * heap_bytes(sizeof(entry) << shift_) +
           heap_bytes(chunks_.capacity() * sizeof(void*));
  }

private:
  struct entry {
    event::event_ptr ev;
    std::int64_t ts = 0;
    std::uint32_t refs = 0;
    std::uint32_t next_free = 0;
  };
  entry& at(std::uint32_t s) noexcept {
    return chunks_[s >> shift_][s & ((std::uint32_t{1} << shift_) - 1)];
  }
  const entry& at(std::uint32_t s) const noexcept {
    return chunks_[s >> shift_][s & ((std::uint32_t{1} << shift_) - 1)];
  }
  std::vector<std::unique_ptr<entry[]>> chunks_;
  std::uint32_t size_ = 0; // slots ever handed out
  std::uint32_t free_head_ = ~0u;
  std::uint32_t live_ = 0;
  unsigned shift_;
};

/// A vector of 32-bit words with 4 words in place; spilled storage is sized to fill its malloc
/// chunk and grows by a quarter, so it stays within about 25% of what it holds.
class word_vec {
public:
  static constexpr std::uint32_t inline_cap = 4;

  word_vec() noexcept : u_{} {}
  ~word_vec() {
    if (spilled()) std::free(u_.ptr);
  }
  word_vec(word_vec&& o) noexcept : size_(o.size_), cap_(o.cap_) {
    std::memcpy(static_cast<void*>(&u_), &o.u_, sizeof(u_));
    o.size_ = 0;
    o.cap_ = inline_cap;
  }
  word_vec& operator=(word_vec&& o) noexcept {
    if (this != &o) {
      if (spilled()) std::free(u_.ptr);
      size_ = o.size_;
      cap_ = o.cap_;
      std::memcpy(static_cast<void*>(&u_), &o.u_, sizeof(u_));
      o.size_ = 0;
      o.cap_ = inline_cap;
    }
    return *this;
  }
  word_vec(const word_vec&) = delete;
  word_vec& operator=(const word_vec&) = delete;

  /// Empty and holding `p` instead of words (for an owner's other representation); no-op for
  /// the vector itself, which neither frees nor counts it.
  void set_tag(void* p) noexcept {
    if (spilled()) std::free(u_.ptr);
    size_ = 0;
    cap_ = 0;
    u_.tag = p;
  }
  void* tag() const noexcept { return cap_ == 0 ? u_.tag : nullptr; }
  void clear_tag() noexcept {
    size_ = 0;
    cap_ = inline_cap;
  }

  std::uint32_t* data() noexcept { return spilled() ? u_.ptr : u_.words; }
  const std::uint32_t* data() const noexcept { return spilled() ? u_.ptr : u_.words; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint32_t& operator[](std::size_t i) noexcept { return data()[i]; }
  std::uint32_t operator[](std::size_t i) const noexcept { return data()[i]; }
  /// Heap bytes of spilled storage (glibc rounding included).
  std::size_t heap_bytes() const noexcept { return spilled() ? detail::heap_bytes(cap_ * 4u) : 0; }

  /// Opens a gap of `n` uninitialized words at `at`; returns its start.
  std::uint32_t* insert(std::size_t at, std::size_t n) {
    const std::size_t need = size_ + n;
    if (need > cap_) grow(need);
    std::uint32_t* d = data();
    std::memmove(d + at + n, d + at, (size_ - at) * 4);
    size_ = static_cast<std::uint32_t>(need);
    return d + at;
  }
  /// Removes `n` words at `at`; gives memory back when much smaller.
  void erase(std::size_t at, std::size_t n) noexcept {
    std::uint32_t* d = data();
    std::memmove(d + at, d + at + n, (size_ - at - n) * 4);
    size_ -= static_cast<std::uint32_t>(n);
    if (!spilled()) return;
    if (size_ <= inline_cap) {
      std::uint32_t* h = u_.ptr;
      std::memcpy(u_.words, h, size_ * 4);
      std::free(h);
      cap_ = inline_cap;
    } else if (size_ * 2 < cap_) {
      std::size_t cap = fit(size_ + size_ / 4);
      if (auto* p = static_cast<std::uint32_t*>(std::realloc(u_.ptr, cap * 4))) {
        u_.ptr = p;
        cap_ = static_cast<std::uint32_t>(cap);
      }
    }
  }

private:
  bool spilled() const noexcept { return cap_ > inline_cap; }
  /// Words that fill the malloc chunk a request of `n` words gets.
  static std::size_t fit(std::size_t n) noexcept { return (detail::heap_bytes(n * 4) - 8) / 4; }
  void grow(std::size_t need) {
    std::size_t cap = fit(std::max<std::size_t>(need, cap_ + cap_ / 4));
    if (spilled()) {
      auto* p = static_cast<std::uint32_t*>(std::realloc(u_.ptr, cap * 4));
      if (!p) throw std::bad_alloc();
      u_.ptr = p;
    } else {
      auto* p = static_cast<std::uint32_t*>(std::malloc(cap * 4));
      if (!p) throw std::bad_alloc();
      std::memcpy(p, u_.words, size_ * 4);
      u_.ptr = p;
    }
    cap_ = static_cast<std::uint32_t>(cap);
  }

  std::uint32_t size_ = 0;
  std::uint32_t cap_ = inline_cap;
  union storage {
    std::uint32_t words[inline_cap];
    std::uint32_t* ptr;
    void* tag;
  } u_;
};

/// The pending records of one key for every rule. Few rules (the common case): one word
/// vector of groups sorted by rule, `[rule][n]` then n words of records. Many rules: a sorted
/// table of groups, each in its own word vector (same `[rule][n]` layout) with its earliest
/// deadline, so hot keys find a rule by binary search and expiry skips groups.
/// A record is `[type:4|stage:12|count:16]` followed by `count` words: slot ids (partials, held
/// sequences, joins; a partial's or held sequence's time is the time of its first event) or the
/// time (last-seen missing events, 2 words). Every method takes the owner's event_store.
struct key_core {
  /// Groups held in one vector before a key switches to the table.
  static constexpr std::size_t flat_groups = 32;
  struct group {
    word_vec words;
    std::uint32_t rule = 0;
    std::int64_t min_deadline = no_deadline; ///< may be early, never late
  };
  struct table {
    std::vector<group> groups; // sorted by rule
  };

  word_vec words; ///< flat groups, or tagged with the table
  /// Earliest maxspan deadline of any record; may be early (stale) but never late.
  std::int64_t min_deadline = no_deadline;

  key_core() = default;
  ~key_core() { delete big(); }
  key_core(key_core&&) noexcept = default;
  key_core& operator=(key_core&& o) noexcept {
    if (this != &o) {
      delete big();
      words = std::move(o.words);
      min_deadline = o.min_deadline;
    }
    return *this;
  }

  table* big() const noexcept { return static_cast<table*>(words.tag()); }

  /// Runs one event (held in `ev_slot`) through the steps it matched.
  void process(const compiled& c, event_store& st, std::string_view key, std::uint32_t ev_slot,
               std::span<const step_id> hits, key_sink& out);
  /// Decides records whose maxspan deadline is at or before `threshold`.
  void expire(const compiled& c, event_store& st, std::string_view key, std::int64_t threshold,
              key_sink& out);
  bool empty() const noexcept { return words.empty() && !big(); }
  /// Pending partials (all records except last-seen missing events).
  std::size_t pending() const noexcept;
  /// Heap bytes of spilled words and the group table.
  std::size_t heap_bytes() const noexcept;
};

} // namespace chainwatch::engine::detail
