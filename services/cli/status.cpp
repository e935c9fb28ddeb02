// `chainwatch status`: the matcher nodes, who owns each partition, each partition's checkpoint
// (stream position, per-customer watermarks), and the watermark service's per-source event time,
// read from the cw_matchers and cw_checkpoints KV buckets.

#include "commands.hpp"

#include <algorithm>
#include <chainwatch/base/time.hpp>
#include <chainwatch/service/blob_store.hpp>
#include <chainwatch/service/nats_client.hpp>
#include <chainwatch/wire/messages.hpp>
#include <cstdio>
#include <iostream>
#include <map>

namespace chainwatch::cli {
namespace {

std::string when(std::int64_t ns) {
  if (ns == INT64_MAX) return "end of input";
  if (ns == INT64_MIN) return "-";
  return time::format_iso8601(ns);
}

} // namespace

int run_status(const status_options& o) {
  service::nats_options no;
  no.url = o.nats;
  no.name = "chainwatch-status";
  auto client = service::nats_client::connect(no);
  if (!client) {
    std::cerr << "chainwatch status: " << service::to_string(client.error()) << "\n";
    return 1;
  }
  // Open only: creating the buckets here would give them the wrong settings (no lease TTL).
  auto leases = (*client)->key_value("cw_matchers", 1, 0, false);
  auto ckpts = (*client)->key_value("cw_checkpoints", 1, 0, false);
  std::map<std::string, std::string> members;
  std::map<std::uint32_t, std::string> owners;
  if (leases) {
    auto keys = (*leases)->keys();
    for (const auto& k : keys ? *keys : std::vector<std::string>{}) {
      auto e = (*leases)->get(k);
      if (!e || !*e) continue;
      if (k.starts_with("m."))
        members[k.substr(2)] = (*e)->value;
      else if (k.starts_with("p."))
        owners[static_cast<std::uint32_t>(std::stoul(k.substr(2)))] = (*e)->value;
    }
  }
  std::map<std::uint32_t, wire::partition_checkpoint> checkpoints;
  std::map<std::uint32_t, std::size_t> checkpoint_bytes;
  std::map<std::string, wire::watermark_checkpoint> watermark_services; // by blob name
  if (ckpts) {
    service::blob_store store(**ckpts);
    auto names = store.names();
    for (const auto& name : names ? *names : std::vector<std::string>{}) {
      auto blob = store.load(name);
      if (!blob || !*blob) continue;
      if (auto wm = wire::decode_watermark_checkpoint(**blob)) {
        watermark_services[name] = std::move(*wm);
        continue;
      }
      auto ck = wire::decode_partition_checkpoint(**blob);
      if (!ck) continue;
      checkpoint_bytes[ck->partition] = (*blob)->size();
      checkpoints[ck->partition] = std::move(*ck);
    }
  }
  std::cout << "matcher nodes (" << members.size() << "):\n";
  for (const auto& [node, info] : members)
    std::cout << "  " << node << "  " << info << "\n";
  if (members.empty())
    std::cout << "  (none registered: no matcher runs with matcher.owned = auto)\n";
  std::cout << "partitions:\n";
  std::uint32_t last = 0;
  for (const auto& [p, n] : owners)
    last = std::max(last, p + 1);
  for (const auto& [p, c] : checkpoints)
    last = std::max(last, p + 1);
  for (std::uint32_t p = 0; p < last; ++p) {
    auto o = owners.find(p);
    std::cout << "  " << p << "  owner " << (o == owners.end() ? "-" : o->second);
    if (auto c = checkpoints.find(p); c != checkpoints.end()) {
      std::cout << "  checkpoint seq " << c->second.sequence << " (" << checkpoint_bytes[p]
                << " B, " << when(c->second.time_ns) << " by " << c->second.node << ")";
      for (const auto& cc : c->second.customers)
        std::cout << "  " << cc.customer << " watermark " << when(cc.watermark_ns);
    }
    std::cout << "\n";
  }
  // The watermark service's last checkpoint: each customer's watermark and its sources.
  for (const auto& [name, wm] : watermark_services) {
    std::cout << "watermark service (" << name << "):\n";
    std::map<std::string, std::int64_t> customers; // every customer with a source or a watermark
    for (const auto& src : wm.sources)
      customers.emplace(src.customer, INT64_MIN);
    for (const auto& c : wm.watermarks)
      customers[c.customer] = c.watermark_ns;
    for (const auto& [customer, watermark] : customers) {
      std::cout << "  " << customer << "  watermark " << when(watermark) << "\n";
      for (const auto& src : wm.sources)
        if (src.customer == customer)
          std::cout << "    " << src.source << "  max event " << when(src.max_event_ns)
                    << "  lateness " << src.lateness_ns / 1'000'000 << " ms"
                    << (src.eof ? "  end of input" : "") << "\n";
    }
  }
  return 0;
}

} // namespace chainwatch::cli
