// zstd framing of wire messages: encode() compresses big messages, decoders accept both forms.

#include "chainwatch/wire/messages.hpp"

#include <cstring>
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

bool is_zstd_frame(std::string_view in) noexcept {
  if (in.size() < 4) return false;
  std::uint32_t magic = 0;
  std::memcpy(&magic, in.data(), 4); // the format stores it little-endian, as x86 and arm64 do
  return magic == ZSTD_MAGICNUMBER;
}

// The zstd frame of `bytes` in a per-thread scratch, when compress() would use it.
std::optional<std::string_view> frame(std::string_view bytes) {
  if (bytes.size() < compress_min_bytes) return std::nullopt;
  ZSTD_CCtx* c = cctx();
  if (!c) return std::nullopt;
  // A per-thread scratch: no fresh (zero-filled) half-MiB allocation per batch.
  thread_local std::string out;
  if (out.capacity() > (std::size_t{8} << 20)) std::string().swap(out); // after a huge one
  out.resize(ZSTD_compressBound(bytes.size()));
  // One-shot compression writes the content size into the frame header; plain() relies on it.
  std::size_t n = ZSTD_compressCCtx(c, out.data(), out.size(), bytes.data(), bytes.size(), 1);
  if (ZSTD_isError(n) || n >= bytes.size()) return std::nullopt;
  return std::string_view(out.data(), n);
}

} // namespace

void compress(std::string& bytes) {
  if (auto f = frame(bytes)) bytes.assign(*f);
}

std::string compressed(std::string_view bytes) {
  auto f = frame(bytes);
  return std::string(f ? *f : bytes);
}

expected<std::string_view, error> plain(std::string_view in, std::string& buffer,
                                        std::size_t limit) {
  // A message itself starts with a msgpack array header, never with the zstd magic.
  if (!is_zstd_frame(in)) return in;
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

} // namespace chainwatch::wire
