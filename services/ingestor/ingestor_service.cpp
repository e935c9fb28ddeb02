#include "ingestor_service.hpp"

#include "chainwatch/service/mesh.hpp"
#include "chainwatch/wire/subjects.hpp"
#include "framing.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

namespace chainwatch::ingestor {

namespace {

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string(s);
}

std::string source_token(std::string_view source) {
  std::string out(source);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

// Binds a socket of `type` to host:port; returns the fd and the bound port.
expected<std::pair<int, std::uint16_t>, std::string> bind_socket(const listener_spec& spec,
                                                                 int type) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = type;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  auto port = std::to_string(spec.port);
  const char* host = spec.host.empty() || spec.host == "*" ? nullptr : spec.host.c_str();
  if (int rc = getaddrinfo(host, port.c_str(), &hints, &res); rc != 0)
    return unexpected{"resolve " + spec.host + ": " + gai_strerror(rc)};
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return unexpected{std::string("socket: ") + std::strerror(errno)};
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    int rcvbuf = 8 * 1024 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  int rc = ::bind(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 || (type == SOCK_STREAM && ::listen(fd, 128) != 0)) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return unexpected{"bind " + spec.proto + " " + spec.host + ":" + port + ": " + err};
  }
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::pair{fd, static_cast<std::uint16_t>(ntohs(addr.sin_port))};
}

} // namespace

expected<std::vector<listener_spec>, std::string> parse_listeners(std::string_view text) {
  std::vector<listener_spec> out;
  if (trim(text).empty()) return out;
  for (auto item : split(text, ',')) {
    const std::string text_item = trim(item);
    auto parts = split(text_item, ':');
    if (parts.size() != 5)
      return unexpected{"listener '" + trim(item) + "': want proto:host:port:customer:source"};
    listener_spec l{.proto = std::string(parts[0]),
                    .host = std::string(parts[1]),
                    .port = 0,
                    .customer = std::string(parts[3]),
                    .source = std::string(parts[4])};
    if (l.proto != "tcp" && l.proto != "udp")
      return unexpected{"listener '" + trim(item) + "': proto must be tcp or udp"};
    int port = 0;
    for (char c : parts[2]) {
      if (c < '0' || c > '9' || port > 65535)
        return unexpected{"listener '" + trim(item) + "': bad port"};
      port = port * 10 + (c - '0');
    }
    if (parts[2].empty() || port > 65535)
      return unexpected{"listener '" + trim(item) + "': bad port"};
    l.port = static_cast<std::uint16_t>(port);
    if (!wire::valid_token(l.customer) || !wire::valid_token(source_token(l.source)))
      return unexpected{"listener '" + trim(item) +
                        "': customer and source must be [A-Za-z0-9_-] (source may use '.')"};
    out.push_back(std::move(l));
  }
  return out;
}

void bind(service::config_binder& b, ingestor_config& c) {
  b.bind("ingestor.listeners", c.listeners,
         "comma-separated proto:host:port:customer:source, proto tcp or udp");
  b.bind("ingestor.max_records", c.max_records, "records per raw_batch");
  b.bind("ingestor.max_bytes", c.max_bytes, "bytes per raw_batch");
  b.bind_duration("ingestor.linger", c.linger_ns, "oldest record wait before publishing");
  b.bind("ingestor.max_buffer_bytes", c.max_buffer_bytes,
         "accepted bytes awaiting JetStream above which TCP reads pause");
  b.bind("ingestor.max_record_bytes", c.max_record_bytes, "longest record; longer ones are cut");
  b.bind_duration("ingestor.publish_timeout", c.publish_timeout_ns,
                  "wait for the publish acks of one round");
  b.bind_duration("ingestor.drain_timeout", c.drain_timeout_ns,
                  "on shutdown, how long to keep trying to store what was accepted");
  b.bind("ingestor.producer_id", c.producer_id,
         "producer id in message ids (default <hostname>-<pid>-<boot time>)");
}

ingestor_service::ingestor_service(service::nats_client& client, service::metrics& m,
                                   ingestor_config cfg)
    : client_(client), cfg_(std::move(cfg)), probe_(m) {
  producer_ = cfg_.producer_id;
  if (producer_.empty()) {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    std::string h = source_token(host);
    if (!wire::valid_token(h)) h = "host";
    producer_ = h + "-" + std::to_string(::getpid()) + "-" + std::to_string(wall_ns() / 1'000'000);
  }
}

ingestor_service::~ingestor_service() {
  stop();
}

expected<std::monostate, std::string> ingestor_service::start() {
  auto specs = parse_listeners(cfg_.listeners);
  if (!specs) return unexpected{specs.error()};
  if (auto r = client_.ensure_stream(service::ingest_stream()); !r)
    return unexpected{"ensure CW_INGEST: " + service::to_string(r.error())};
  if (auto r = client_.ensure_stream(service::dlq_stream()); !r)
    return unexpected{"ensure CW_DLQ: " + service::to_string(r.error())};
  listeners_.reserve(specs->size());
  for (auto& spec : *specs) {
    auto fd = bind_socket(spec, spec.proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM);
    if (!fd) {
      for (auto& l : listeners_)
        ::close(l.fd);
      listeners_.clear();
      return unexpected{fd.error()};
    }
    listeners_.push_back({.spec = spec, .fd = fd->first, .port = fd->second, .thread = {}});
  }
  started_ = true;
  publisher_ = std::thread([this] { run_publisher(); });
  for (auto& l : listeners_) {
    l.thread = std::thread([this, &l] { l.spec.proto == "tcp" ? run_tcp(l) : run_udp(l); });
    spdlog::info("ingestor listening on {} {}:{} for {}/{}", l.spec.proto, l.spec.host, l.port,
                 l.spec.customer, l.spec.source);
  }
  return std::monostate{};
}

void ingestor_service::stop() {
  if (!started_) return;
  started_ = false;
  // Stop intake first; the listeners hand over what they already received.
  {
    std::lock_guard lk(mutex_);
    stop_listeners_ = true;
  }
  space_cv_.notify_all();
  for (auto& l : listeners_) {
    if (l.thread.joinable()) l.thread.join();
    ::close(l.fd);
  }
  {
    std::lock_guard lk(mutex_);
    give_up_ns_ = mono_ns() + cfg_.drain_timeout_ns;
    stop_publisher_ = true;
  }
  work_cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  listeners_.clear();
}

void ingestor_service::accept(const std::string& customer, const std::string& source,
                              std::string_view bytes) {
  wire::raw_record rec{
      .bytes = std::string(bytes), .event_id = std::nullopt, .sequence = std::nullopt};
  auto size = wire::size_hint(rec);
  std::unique_lock lk(mutex_);
  if (buffered_ >= static_cast<std::size_t>(cfg_.max_buffer_bytes)) {
    probe_.backpressure.Increment();
    // During shutdown the listeners hand over what they hold without waiting.
    space_cv_.wait(lk, [&] {
      return buffered_ < static_cast<std::size_t>(cfg_.max_buffer_bytes) || stop_listeners_;
    });
  }
  auto key = std::pair{customer, source};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    wire::batch_policy policy{
        .max_items = static_cast<std::size_t>(std::max<std::int64_t>(1, cfg_.max_records)),
        .max_bytes = static_cast<std::size_t>(cfg_.max_bytes),
        .linger_ns = cfg_.linger_ns};
    it = streams_.emplace(key, stream{customer, source, wire::batcher<wire::raw_record>(policy), 0})
             .first;
  }
  auto& s = it->second;
  bool wake = false;
  if (!s.batch.fits(size)) {
    ready_.push_back(seal(s, "bytes"));
    wake = true;
  }
  bool was_empty = s.batch.empty();
  auto reason = s.batch.add(std::move(rec), size, mono_ns());
  buffered_ += size;
  if (reason != wire::flush_reason::none) {
    ready_.push_back(seal(s, wire::to_string(reason)));
    wake = true;
  }
  probe_.buffered_bytes.Set(static_cast<double>(buffered_));
  lk.unlock();
  if (wake || was_empty) work_cv_.notify_one();
}

ingestor_service::pending ingestor_service::seal(stream& s, const char* reason) {
  pending p;
  p.bytes = s.batch.bytes();
  wire::raw_batch b{.customer = s.customer,
                    .source_type = s.source,
                    .ingest_ns = wall_ns(),
                    .records = s.batch.take(),
                    .origin = {},
                    .header = {}};
  p.records = b.records.size();
  p.subject = wire::ingest_subject(s.customer, source_token(s.source));
  p.data = wire::encode(b);
  p.msg_id = s.customer + "." + source_token(s.source) + "." + producer_ + "." +
             std::to_string(s.next_seq++);
  probe_.flushes(reason).Increment();
  return p;
}

void ingestor_service::take_due(std::vector<pending>& out, bool all, std::int64_t now) {
  for (auto& p : ready_)
    out.push_back(std::move(p));
  ready_.clear();
  for (auto& [key, s] : streams_) {
    if (s.batch.empty()) continue;
    if (all)
      out.push_back(seal(s, "shutdown"));
    else if (s.batch.poll(now) != wire::flush_reason::none)
      out.push_back(seal(s, "linger"));
  }
}

bool ingestor_service::publish_round(const std::vector<pending>& round) {
  auto started = std::chrono::steady_clock::now();
  auto timeout_ms = cfg_.publish_timeout_ns / 1'000'000;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      probe_.publish_retries.Increment();
      if (stop_publisher_ && mono_ns() > give_up_ns_) return false;
      // Back off before retrying: the broker is down or rejecting.
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt, 10) * 100));
    }
    auto failures = client_.js_publish_failures();
    bool ok = true;
    for (const auto& p : round) {
      if (auto r = client_.js_publish_async(p.subject, p.data, p.msg_id, timeout_ms); !r) {
        spdlog::warn("ingestor: publish to {} failed: {}", p.subject,
                     service::to_string(r.error()));
        probe_.errors("publish").Increment();
        ok = false;
        break;
      }
    }
    auto done = client_.js_publish_complete(timeout_ms);
    if (ok && done && client_.js_publish_failures() == failures) break;
  }
  probe_.latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return true;
}

void ingestor_service::run_publisher() {
  while (true) {
    std::vector<pending> round;
    bool stopping = false;
    {
      std::unique_lock lk(mutex_);
      while (true) {
        stopping = stop_publisher_;
        take_due(round, stopping, mono_ns());
        if (!round.empty() || stopping) break;
        std::int64_t next = std::numeric_limits<std::int64_t>::max();
        for (auto& [key, s] : streams_)
          next = std::min(next, s.batch.deadline_ns());
        auto wait = std::min<std::int64_t>(next - mono_ns(), 100'000'000);
        if (wait > 0) work_cv_.wait_for(lk, std::chrono::nanoseconds(wait));
      }
    }
    if (round.empty()) return; // stopping and nothing left
    std::size_t bytes = 0, records = 0;
    for (auto& p : round) {
      bytes += p.bytes;
      records += p.records;
    }
    if (publish_round(round)) {
      probe_.events_out.Increment(static_cast<double>(records));
      probe_.batches_out.Increment(static_cast<double>(round.size()));
    } else {
      probe_.errors("lost_on_shutdown").Increment(static_cast<double>(records));
      spdlog::error("ingestor: {} records could not be stored before the drain timeout", records);
    }
    {
      std::lock_guard lk(mutex_);
      buffered_ -= std::min(buffered_, bytes);
      probe_.buffered_bytes.Set(static_cast<double>(buffered_));
    }
    space_cv_.notify_all();
  }
}

void ingestor_service::run_tcp(listener& l) {
  struct conn {
    int fd;
    frame_decoder frames;
  };
  std::vector<conn> conns;
  std::vector<char> buf(64 * 1024);
  auto& in = probe_.events_in("tcp");
  auto deliver = [&](std::string_view frame) {
    in.Increment();
    accept(l.spec.customer, l.spec.source, frame);
  };
  auto close_conn = [&](std::size_t i) {
    conns[i].frames.finish(deliver);
    if (conns[i].frames.truncated() > 0)
      probe_.errors("truncated").Increment(static_cast<double>(conns[i].frames.truncated()));
    ::close(conns[i].fd);
    conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
    probe_.connections.Decrement();
  };
  while (!stop_listeners_) {
    std::vector<pollfd> fds;
    fds.push_back({l.fd, POLLIN, 0});
    for (auto& c : conns)
      fds.push_back({c.fd, POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), 100);
    if (n <= 0) continue;
    // Read existing connections first (indexes shift on close, so walk backwards).
    for (std::size_t i = conns.size(); i-- > 0;) {
      if (!(fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto got = ::read(conns[i].fd, buf.data(), buf.size());
      if (got > 0) {
        conns[i].frames.feed(std::string_view(buf.data(), static_cast<std::size_t>(got)), deliver);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_conn(i);
      }
    }
    if (fds[0].revents & POLLIN) {
      int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        conns.push_back({fd, frame_decoder(static_cast<std::size_t>(cfg_.max_record_bytes))});
        probe_.connections.Increment();
      }
    }
  }
  // Shutdown: what the kernel already received (including a trailing unterminated line) is
  // accepted before the connections close.
  for (auto& c : conns) {
    while (true) {
      auto got = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got <= 0) break;
      c.frames.feed(std::string_view(buf.data(), static_cast<std::size_t>(got)), deliver);
    }
  }
  while (!conns.empty())
    close_conn(conns.size() - 1);
}

void ingestor_service::run_udp(listener& l) {
  std::vector<char> buf(65536);
  auto& in = probe_.events_in("udp");
  while (!stop_listeners_) {
    pollfd p{l.fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    // Drain what the kernel holds before polling again.
    while (true) {
      auto got = ::recv(l.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got <= 0) break;
      std::string_view dgram(buf.data(), static_cast<std::size_t>(got));
      while (!dgram.empty() && (dgram.back() == '\n' || dgram.back() == '\r'))
        dgram.remove_suffix(1);
      if (dgram.empty()) continue;
      if (dgram.size() > static_cast<std::size_t>(cfg_.max_record_bytes)) {
        probe_.errors("truncated").Increment();
        dgram = dgram.substr(0, static_cast<std::size_t>(cfg_.max_record_bytes));
      }
      in.Increment();
      accept(l.spec.customer, l.spec.source, dgram);
    }
  }
}

} // namespace chainwatch::ingestor
