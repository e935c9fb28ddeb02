#include "chainwatch/wire/subjects.hpp"

namespace chainwatch::wire {

namespace {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out.push_back('.');
    out.append(p);
  }
  return out;
}

} // namespace

bool valid_token(std::string_view token) noexcept {
  if (token.empty()) return false;
  for (char c : token) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ingest_subject(std::string_view customer, std::string_view source) {
  return join({"cw.ingest", customer, source});
}

std::string events_subject(std::string_view customer, std::string_view source) {
  return join({"cw.events", customer, source});
}

std::string partition_subject(std::uint32_t partition) {
  return "cw.part." + std::to_string(partition);
}

std::string match_subject(std::string_view customer) {
  return join({"cw.match", customer});
}

std::string alert_subject(std::string_view customer, std::string_view severity,
                          std::string_view rule_id) {
  return join({"cw.alerts", customer, severity, rule_id});
}

std::string dlq_subject(std::string_view customer) {
  return join({"cw.dlq", customer});
}

std::string late_subject(std::string_view customer) {
  return join({"cw.late", customer});
}

std::string_view subject_token(std::string_view subject, std::size_t index) noexcept {
  std::size_t start = 0;
  for (std::size_t i = 0; i < index; ++i) {
    auto dot = subject.find('.', start);
    if (dot == std::string_view::npos) return {};
    start = dot + 1;
  }
  auto end = subject.find('.', start);
  return subject.substr(start,
                        end == std::string_view::npos ? std::string_view::npos : end - start);
}

} // namespace chainwatch::wire
