// Compressed frames of wire messages: encode() compresses big messages in its kind's codec,
// decoders accept every form.

#include "chainwatch/wire/messages.hpp"

#include <cstring>
#include <limits>
#include <lz4.h>
#include <memory>
#include <optional>
#include <zstd.h>

namespace chainwatch::wire {

namespace {

// Contexts are reused per thread: creating one costs more than compressing a small batch.
struct cctx_deleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct dctx_deleter {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

ZSTD_CCtx* cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, cctx_deleter> c(ZSTD_createCCtx());
  return c.get();
}

ZSTD_DCtx* dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, dctx_deleter> d(ZSTD_createDCtx());
  return d.get();
}

std::uint32_t load_le32(const char* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4); // little-endian on the wire, as on x86 and arm64
  return v;
}

void store_le32(char* p, std::uint32_t v) noexcept {
  std::memcpy(p, &v, 4);
}

bool is_zstd_frame(std::string_view in) noexcept {
  return in.size() >= 4 && load_le32(in.data()) == ZSTD_MAGICNUMBER;
}

// An LZ4 frame: this magic ("cwl4"), the content size (u32, little-endian), one LZ4 block. The
// magic's first byte is a msgpack fixint, which no envelope (an array header) starts with.
constexpr std::uint32_t lz4_magic = 0x346c7763;
constexpr std::size_t lz4_header = 8;

bool is_lz4_frame(std::string_view in) noexcept {
  return in.size() >= lz4_header && load_le32(in.data()) == lz4_magic;
}

// A per-thread scratch for frames: no fresh (zero-filled) half-MiB allocation per batch.
std::string& frame_scratch(std::size_t size) {
  thread_local std::string out;
  if (out.capacity() > (std::size_t{8} << 20)) std::string().swap(out); // after a huge one
  out.resize(size);
  return out;
}

// The zstd frame of `bytes` in the scratch; nullopt when it is not smaller.
std::optional<std::string_view> zstd_frame(std::string_view bytes) {
  ZSTD_CCtx* c = cctx();
  if (!c) return std::nullopt;
  std::string& out = frame_scratch(ZSTD_compressBound(bytes.size()));
  // One-shot compression writes the content size into the frame header; plain() relies on it.
  std::size_t n = ZSTD_compressCCtx(c, out.data(), out.size(), bytes.data(), bytes.size(), 1);
  if (ZSTD_isError(n) || n >= bytes.size()) return std::nullopt;
  return std::string_view(out.data(), n);
}

std::optional<std::string_view> lz4_frame(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) return std::nullopt;
  const int size = static_cast<int>(bytes.size());
  std::string& out = frame_scratch(lz4_header + static_cast<std::size_t>(LZ4_compressBound(size)));
  store_le32(out.data(), lz4_magic);
  store_le32(out.data() + 4, static_cast<std::uint32_t>(size));
  int n = LZ4_compress_default(bytes.data(), out.data() + lz4_header, size,
                               static_cast<int>(out.size() - lz4_header));
  if (n <= 0 || lz4_header + static_cast<std::size_t>(n) >= bytes.size()) return std::nullopt;
  return std::string_view(out.data(), lz4_header + static_cast<std::size_t>(n));
}

// The frame of `bytes` in `c` (in a per-thread scratch), when compress() would use it.
std::optional<std::string_view> frame(std::string_view bytes, codec c) {
  if (bytes.size() < compress_min_bytes) return std::nullopt;
  switch (c) {
  case codec::zstd:
    return zstd_frame(bytes);
  case codec::lz4:
    return lz4_frame(bytes);
  case codec::none:
    break;
  }
  return std::nullopt;
}

expected<std::string_view, error> zstd_plain(std::string_view in, std::string& buffer,
                                             std::size_t limit) {
  unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return unexpected{error{errc::bad_compression, 0}};
  if (size > limit) return unexpected{error{errc::too_large, 0}};
  ZSTD_DCtx* d = dctx();
  if (!d) return unexpected{error{errc::bad_compression, 0}};
  buffer.resize(static_cast<std::size_t>(size));
  // Fails when the input holds more than the one frame whose size was read (dst too small),
  // is truncated or corrupt (zstd checks its block structure).
  std::size_t n = ZSTD_decompressDCtx(d, buffer.data(), buffer.size(), in.data(), in.size());
  if (ZSTD_isError(n) || n != buffer.size()) return unexpected{error{errc::bad_compression, 0}};
  return std::string_view(buffer);
}

expected<std::string_view, error> lz4_plain(std::string_view in, std::string& buffer,
                                            std::size_t limit) {
  const std::uint32_t size = load_le32(in.data() + 4);
  if (size > limit) return unexpected{error{errc::too_large, 0}};
  const std::string_view block = in.substr(lz4_header);
  if (size > static_cast<std::uint32_t>(LZ4_MAX_INPUT_SIZE) ||
      block.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return unexpected{error{errc::bad_compression, 0}};
  buffer.resize(size);
  // The safe decoder never reads or writes out of bounds; it fails on a corrupt or truncated
  // block, and on one that decodes to more than the declared size (or does not use all input).
  int n = LZ4_decompress_safe(block.data(), buffer.data(), static_cast<int>(block.size()),
                              static_cast<int>(size));
  if (n < 0 || static_cast<std::uint32_t>(n) != size)
    return unexpected{error{errc::bad_compression, 0}};
  return std::string_view(buffer);
}

} // namespace

void compress(std::string& bytes, codec c) {
  if (auto f = frame(bytes, c)) bytes.assign(*f);
}

std::string compressed(std::string_view bytes, codec c) {
  auto f = frame(bytes, c);
  return std::string(f ? *f : bytes);
}

expected<std::string_view, error> plain(std::string_view in, std::string& buffer,
                                        std::size_t limit) {
  // A message itself starts with a msgpack array header, never with a frame's magic.
  if (is_lz4_frame(in)) return lz4_plain(in, buffer, limit);
  if (is_zstd_frame(in)) return zstd_plain(in, buffer, limit);
  return in;
}

} // namespace chainwatch::wire
