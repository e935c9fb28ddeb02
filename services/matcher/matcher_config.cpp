#include "matcher_config.hpp"

#include <algorithm>
#include <charconv>

namespace chainwatch::matcher {

void bind(service::config_binder& b, matcher_config& c) {
  b.bind("matcher.partitions", c.partitions, "Partitions P of the deployment (cw.part.0..P-1)");
  b.bind("matcher.owned", c.owned,
         "Partitions to consume: auto (leased among live matchers), all, 3, 0-7 or 0,2,5-6");
  b.bind("matcher.node_id", c.node_id, "Node id for partition leases (default host-pid)");
  b.bind_duration("matcher.checkpoint_interval", c.checkpoint_interval_ns,
                  "How often each partition's state is checkpointed (0: never)");
  b.bind_duration("matcher.lease", c.lease_ns,
                  "Lease TTL: a node silent this long loses its partitions");
  b.bind("matcher.rules", c.rules, "Rule TOML files or directories, comma-separated");
  b.bind("matcher.lists", c.lists, "Lookup list directories, comma-separated");
  b.bind("matcher.event_type_field", c.event_type_field, "Field holding the event category");
  b.bind("matcher.case_sensitive", c.case_sensitive, "Case-sensitive comparisons (as hunt)");
  b.bind("matcher.max_pending", c.max_pending, "Pending sequences per rule and key");
  b.bind("matcher.threads", c.threads, "CAF scheduler threads");
  b.bind("matcher.fetch_batch", c.fetch_batch, "Partition batches fetched at once");
  b.bind_duration("matcher.fetch_timeout", c.fetch_timeout_ns, "How long a fetch waits");
  b.bind_duration("matcher.publish_timeout", c.publish_timeout_ns,
                  "How long to wait for match acks before republishing");
}

expected<std::vector<std::uint32_t>, std::string> parse_partitions(const std::string& text,
                                                                   std::int64_t partitions) {
  if (partitions <= 0 || partitions > 65536)
    return unexpected{std::string("matcher.partitions must be in 1..65536")};
  std::vector<std::uint32_t> out;
  if (text == "all" || text == "auto" || text.empty()) {
    for (std::int64_t p = 0; p < partitions; ++p)
      out.push_back(static_cast<std::uint32_t>(p));
    return out;
  }
  auto number = [](std::string_view s) -> std::optional<std::int64_t> {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
  };
  for (const auto& item : split_list(text)) {
    auto dash = item.find('-');
    auto lo = number(std::string_view(item).substr(0, dash));
    auto hi = dash == std::string::npos ? lo : number(std::string_view(item).substr(dash + 1));
    if (!lo || !hi || *lo > *hi || *lo < 0 || *hi >= partitions)
      return unexpected{"matcher.owned: bad partition range '" + item + "'"};
    for (auto p = *lo; p <= *hi; ++p)
      out.push_back(static_cast<std::uint32_t>(p));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace chainwatch::matcher
