#include "nats_server.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chainwatch::test_support {

namespace {

using namespace std::chrono_literals;

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (ok) {
    // A NATS server greets with INFO; reading it proves the server (not just the socket) is up.
    char buf[4] = {};
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ok = ::recv(fd, buf, sizeof(buf), 0) == 4 && std::memcmp(buf, "INFO", 4) == 0;
  }
  ::close(fd);
  return ok;
}

} // namespace

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string nats_server::binary() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("NATS_SERVER"); env && fs::exists(env)) return env;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (!dir.empty() && ::access((dir + "/nats-server").c_str(), X_OK) == 0)
        return dir + "/nats-server";
  }
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

expected<std::unique_ptr<nats_server>, std::string> nats_server::start() {
  if (binary().empty()) return unexpected{std::string("nats-server not installed")};
  std::unique_ptr<nats_server> s(new nats_server());
  char tmpl[] = "/tmp/cw-nats-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    return unexpected{std::string("mkdtemp: ") + std::strerror(errno)};
  s->dir_ = tmpl;
  // A port can be taken between free_port() and the server's bind: retry a few times.
  std::string last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = free_port();
    auto r = s->launch();
    if (r) return s;
    last = r.error();
  }
  return unexpected{last};
}

nats_server::~nats_server() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string nats_server::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

std::string nats_server::log() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

expected<std::monostate, std::string> nats_server::launch() {
  auto bin = binary();
  auto port = std::to_string(port_);
  auto store = dir_ + "/js";
  std::vector<std::string> args = {bin, "-js", "-sd", store, "-a", "127.0.0.1", "-p", port};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd =
      ::open((dir_ + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return unexpected{std::string("fork: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr); // the test may block SIGTERM (shutdown_signal)
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return unexpected{"nats-server exited during start-up:\n" + log()};
    }
    if (accepts(port_)) return std::monostate{};
    std::this_thread::sleep_for(20ms); // readiness poll with a deadline
  }
  terminate(SIGKILL);
  return unexpected{"nats-server did not accept connections within 15 s:\n" + log()};
}

void nats_server::terminate(int signo) {
  if (pid_ <= 0) return;
  ::kill(pid_, signo);
  ::kill(pid_, SIGCONT); // a paused server handles SIGTERM only once it runs
  auto deadline = std::chrono::steady_clock::now() + 10s;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
}

void nats_server::stop() {
  terminate(SIGTERM);
}

void nats_server::kill() {
  terminate(SIGKILL);
}

void nats_server::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void nats_server::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

expected<std::monostate, std::string> nats_server::restart() {
  stop();
  // The old listener's port can linger briefly; retry the launch until a deadline.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto r = launch();
    if (r || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(100ms);
  }
}

} // namespace chainwatch::test_support
