#include "input.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace chainwatch::cli {

// gzopen reads plain files transparently, so one code path serves both.
struct line_reader::file {
  gzFile gz = nullptr;
  ~file() {
    if (gz) gzclose(gz);
  }
};

line_reader::line_reader(line_reader&&) noexcept = default;
line_reader& line_reader::operator=(line_reader&&) noexcept = default;
line_reader::~line_reader() = default;

expected<line_reader, std::string> line_reader::open(const std::string& path) {
  line_reader r;
  r.path_ = path;
  r.f_ = std::make_unique<file>();
  const bool stdin_ = path == "-";
  r.f_->gz = stdin_ ? gzdopen(dup(0), "rb") : gzopen(path.c_str(), "rb");
  if (!r.f_->gz) return unexpected{path + ": " + std::strerror(errno)};
  gzbuffer(r.f_->gz, 1 << 17);
  struct stat st {};
  if (!stdin_ && ::stat(path.c_str(), &st) == 0) {
    r.mtime_ns_ = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  } else {
    r.mtime_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  }
  return r;
}

std::optional<std::string_view> line_reader::next() {
  for (;;) {
    if (auto nl = buf_.find('\n', start_); nl != std::string::npos) {
      std::string_view line{buf_.data() + start_, nl - start_};
      start_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no_;
      return line;
    }
    if (eof_) {
      if (start_ >= buf_.size()) return std::nullopt;
      std::string_view line{buf_.data() + start_, buf_.size() - start_};
      start_ = buf_.size();
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no_;
      return line;
    }
    buf_.erase(0, start_); // keep the partial line, drop what was returned
    start_ = 0;
    char chunk[1 << 16];
    int n = gzread(f_->gz, chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      error_ = path_ + ": " + gzerror(f_->gz, &code);
      eof_ = true;
      buf_.clear();
      return std::nullopt;
    }
    if (n == 0)
      eof_ = true;
    else
      buf_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool line_reader::read_rest(std::string& out) {
  out.append(buf_, start_, std::string::npos);
  buf_.clear();
  start_ = 0;
  char chunk[1 << 16];
  while (!eof_) {
    int n = gzread(f_->gz, chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      error_ = path_ + ": " + gzerror(f_->gz, &code);
      eof_ = true;
      return false;
    }
    if (n == 0) eof_ = true;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

std::string for_each_line(const std::string& path,
                          const std::function<void(std::string_view, std::uint64_t)>& on_line) {
  auto r = line_reader::open(path);
  if (!r) return r.error();
  while (auto line = r->next())
    on_line(*line, r->line_number());
  return r->error();
}

std::string read_file(const std::string& path, std::string& out) {
  auto r = line_reader::open(path);
  if (!r) return r.error();
  r->read_rest(out);
  return r->error();
}

} // namespace chainwatch::cli
