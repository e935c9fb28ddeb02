#pragma once

// A minimal bounds-checked msgpack writer and reader for the wire schemas. Hand-written rather
// than msgpack-c's object unpacker so that decoding never throws, never allocates more than the
// input size and reads byte blobs without an intermediate object tree.

#include "chainwatch/base/expected.hpp"
#include "chainwatch/wire/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chainwatch::wire {

/// Appends msgpack values to a byte string (the string is the output buffer).
class writer {
public:
  /// Writes into `out`, appending after its current content.
  explicit writer(std::string& out) : out_(out) {}

  /// Writes an array header of `n` elements.
  void array(std::uint32_t n);
  /// Writes an unsigned integer in its shortest form.
  void uint(std::uint64_t v);
  /// Writes a signed integer in its shortest form (non-negative values as unsigned).
  void sint(std::int64_t v);
  /// Writes a UTF-8 string (msgpack str).
  void str(std::string_view s);
  /// Writes a byte blob (msgpack bin).
  void bin(std::string_view b);
  /// Writes nil.
  void nil();
  /// Writes a boolean.
  void boolean(bool v);
  /// Writes `s` if present, nil otherwise.
  void opt_str(const std::optional<std::string>& s);
  /// Writes `v` if present, nil otherwise.
  void opt_uint(const std::optional<std::uint64_t>& v);

private:
  void put(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void put_tagged(std::uint8_t tag, std::uint64_t v, int bytes);

  std::string& out_;
};

/// Reads msgpack values from a byte view; every read is bounds- and type-checked.
class reader {
public:
  /// Reads from `in`; the viewed bytes must outlive the reader and every view it returns.
  explicit reader(std::string_view in) : in_(in) {}

  /// Reads an array header; also checks that `n` elements can fit in the remaining bytes.
  expected<std::uint32_t, error> array();
  /// Reads an array header and checks it has exactly `n` elements.
  expected<std::uint32_t, error> array_of(std::uint32_t n);
  /// Reads an unsigned integer (a non-negative signed encoding is accepted).
  expected<std::uint64_t, error> uint();
  /// Reads a signed integer (an unsigned encoding up to INT64_MAX is accepted).
  expected<std::int64_t, error> sint();
  /// Reads a str (or bin) and returns a view into the input.
  expected<std::string_view, error> str();
  /// Reads a bin (or str) and returns a view into the input.
  expected<std::string_view, error> bin();
  /// Reads a boolean.
  expected<bool, error> boolean();
  /// Consumes a nil and returns true if the next value is nil; false otherwise.
  bool try_nil();
  /// Skips one value of any type (nested up to a fixed depth).
  expected<bool, error> skip();

  /// Returns the number of bytes consumed so far.
  std::size_t offset() const noexcept { return pos_; }
  /// Returns the number of bytes left.
  std::size_t remaining() const noexcept { return in_.size() - pos_; }
  /// Returns true when every byte has been consumed.
  bool at_end() const noexcept { return pos_ == in_.size(); }

private:
  expected<std::uint64_t, error> be(int bytes);
  expected<std::string_view, error> take(std::uint64_t n);
  expected<std::string_view, error> bytes(bool want_bin);
  expected<bool, error> skip_depth(int depth);
  error fail(errc code) const { return error{code, pos_}; }

  std::string_view in_;
  std::size_t pos_ = 0;
};

} // namespace chainwatch::wire
