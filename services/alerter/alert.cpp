#include "alert.hpp"

#include <algorithm>
#include <chainwatch/base/time.hpp>
#include <chainwatch/event/event.hpp>
#include <chainwatch/wire/partition.hpp>
#include <chainwatch/wire/subjects.hpp>
#include <charconv>
#include <cstdio>

namespace chainwatch::alerter {

namespace {

void field(std::string& out, const char* name, std::string_view value) {
  out += '"';
  out += name;
  out += "\":";
  event::append_json_string(out, value);
}

void technique_json(std::string& out, const rules::technique& t) {
  out += '{';
  field(out, "id", t.id);
  out += ',';
  field(out, "name", t.name);
  out += ',';
  field(out, "reference", t.reference);
  if (!t.subtechniques.empty()) {
    out += ",\"subtechniques\":[";
    for (std::size_t i = 0; i < t.subtechniques.size(); ++i) {
      if (i) out += ',';
      technique_json(out, t.subtechniques[i]);
    }
    out += ']';
  }
  out += '}';
}

void threat_json(std::string& out, const std::vector<rules::threat>& threats) {
  out += '[';
  for (std::size_t i = 0; i < threats.size(); ++i) {
    const auto& t = threats[i];
    if (i) out += ',';
    out += '{';
    field(out, "framework", t.framework);
    out += ",\"tactic\":{";
    field(out, "id", t.tactic_id);
    out += ',';
    field(out, "name", t.tactic_name);
    out += ',';
    field(out, "reference", t.tactic_reference);
    out += "},\"techniques\":[";
    for (std::size_t j = 0; j < t.techniques.size(); ++j) {
      if (j) out += ',';
      technique_json(out, t.techniques[j]);
    }
    out += "]}";
  }
  out += ']';
}

} // namespace

std::string token_of(std::string_view text) {
  std::string out;
  for (char c : text)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "unknown" : out;
}

std::string alert_id(std::string_view customer, const wire::match& m) {
  std::string text(customer);
  text.push_back('\0');
  text += m.rule_id;
  text.push_back('\0');
  text += m.key;
  text += '\0' + std::to_string(m.first_ns) + '\0' + std::to_string(m.last_ns);
  // The events bound to the steps, so two matches differing only in a middle event differ.
  for (const auto& ev : m.events) {
    text.push_back('\0');
    text += ev;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(wire::key_hash("a", text)));
  return std::string("a.") + hex;
}

alert build_alert(std::string_view customer, const wire::match& m, const rules::rule* rule,
                  std::int64_t detected_ns, std::size_t& bad_events) {
  alert a;
  a.severity = token_of(rule && !rule->severity.empty() ? rule->severity : "unknown");
  a.subject = wire::alert_subject(customer, a.severity, token_of(m.rule_id));
  a.msg_id = alert_id(customer, m);
  std::string& out = a.json;
  out += '{';
  field(out, "alert_id", a.msg_id);
  out += ",\"rule\":{";
  field(out, "id", m.rule_id);
  out += ',';
  field(out, "name", rule ? rule->name : m.rule_id);
  out += ',';
  field(out, "severity", a.severity);
  out += ",\"risk_score\":" + std::to_string(rule ? rule->risk_score : 0);
  if (rule) {
    out += ',';
    field(out, "description", rule->description);
    out += ",\"tags\":[";
    for (std::size_t i = 0; i < rule->tags.size(); ++i) {
      if (i) out += ',';
      event::append_json_string(out, rule->tags[i]);
    }
    out += "],\"threat\":";
    threat_json(out, rule->threats);
  }
  out += "},";
  field(out, "customer", customer);
  // The key is the engine's JSON array text of the join values; empty for event-query rules.
  out += ",\"key\":";
  out += m.key.empty() ? "[]" : m.key;
  out += ',';
  field(out, "first_event_time", time::format_iso8601(m.first_ns));
  out += ',';
  field(out, "last_event_time", time::format_iso8601(m.last_ns));
  out += ',';
  field(out, "detection_time", time::format_iso8601(detected_ns));
  // "idle": an absence decided by a watermark the wall clock moved because every source of the
  // customer had gone quiet: it may be a gap in the data, not evidence.
  out += ',';
  field(out, "decided_by", m.decided_by_idle ? "idle" : "events");
  out += ",\"first_ns\":" + std::to_string(m.first_ns) +
         ",\"last_ns\":" + std::to_string(m.last_ns) +
         ",\"watermark_ns\":" + std::to_string(m.watermark_ns) +
         ",\"watermark_wall_ns\":" + std::to_string(m.watermark_wall_ns) +
         ",\"detected_ns\":" + std::to_string(detected_ns) + ",\"evidence\":[";
  for (std::size_t i = 0; i < m.events.size(); ++i) {
    if (i) out += ',';
    auto ev = event::from_msgpack(m.events[i]);
    if (ev) {
      event::append_json(out, ev->root());
    } else {
      ++bad_events;
      out += "null";
    }
  }
  out += "]}";
  return a;
}

suppressor::decision suppressor::admit(std::string_view customer, const wire::match& m) {
  std::string id(customer);
  id.push_back('\0');
  id += m.rule_id;
  id.push_back('\0');
  id += m.key;
  if (m.last_ns > newest_ns_) newest_ns_ = m.last_ns;
  if (window_ns_ <= 0) return decision::publish;
  auto [it, fresh] = last_.try_emplace(std::move(id), seen{m.first_ns, m.last_ns});
  if (fresh) {
    // Bounded memory: forget entries whose window has passed (by the newest event time seen).
    if (last_.size() > 100'000)
      std::erase_if(last_,
                    [&](const auto& kv) { return kv.second.last_ns < newest_ns_ - window_ns_; });
    return decision::publish;
  }
  seen& s = it->second;
  if (s.first_ns == m.first_ns && s.last_ns == m.last_ns) return decision::repeat;
  auto gap = m.last_ns > s.last_ns ? m.last_ns - s.last_ns : s.last_ns - m.last_ns;
  if (gap < window_ns_) return decision::suppress;
  s = {m.first_ns, m.last_ns};
  return decision::publish;
}

// "v1 <newest_ns> <entries>\n", then per entry "<first_ns> <last_ns> <id length>\n<id>\n" (the
// id holds NULs and the key's JSON text, hence the length).
std::string suppressor::snapshot() const {
  std::vector<const std::pair<const std::string, seen>*> entries;
  for (const auto& kv : last_)
    entries.push_back(&kv);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out =
      "v1 " + std::to_string(newest_ns_) + " " + std::to_string(entries.size()) + "\n";
  for (const auto* e : entries) {
    out += std::to_string(e->second.first_ns) + " " + std::to_string(e->second.last_ns) + " " +
           std::to_string(e->first.size()) + "\n";
    out += e->first;
    out += "\n";
  }
  return out;
}

bool suppressor::restore(std::string_view bytes) {
  auto number = [&](std::int64_t& v, char end) {
    auto stop = bytes.find(end);
    if (stop == std::string_view::npos) return false;
    auto [p, ec] = std::from_chars(bytes.data(), bytes.data() + stop, v);
    if (ec != std::errc() || p != bytes.data() + stop) return false;
    bytes.remove_prefix(stop + 1);
    return true;
  };
  if (!bytes.starts_with("v1 ")) return false;
  bytes.remove_prefix(3);
  std::int64_t newest = 0, count = 0;
  if (!number(newest, ' ') || !number(count, '\n') || count < 0) return false;
  std::unordered_map<std::string, seen> entries;
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t first = 0, last = 0, len = 0;
    if (!number(first, ' ') || !number(last, ' ') || !number(len, '\n') || len < 0 ||
        static_cast<std::size_t>(len) + 1 > bytes.size() || bytes[len] != '\n')
      return false;
    entries[std::string(bytes.substr(0, len))] = seen{first, last};
    bytes.remove_prefix(len + 1);
  }
  if (!bytes.empty()) return false;
  last_ = std::move(entries);
  newest_ns_ = newest;
  return true;
}

} // namespace chainwatch::alerter
