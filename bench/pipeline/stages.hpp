#pragma once

// `chainwatch-bench-pipeline stages`: the services' pure stages in one process (stages.cpp).

#include <cstdint>
#include <string>

namespace chainwatch::bench {

struct stages_options {
  std::string events_file; ///< raw ECS JSON lines (`gen --out`)
  std::string rules_dir;   ///< detection-rules TOML files (`gen --rules-dir`)
  std::string lists_dir;   ///< lookup lists (config/lists)
  std::string customer = "bench";
  std::uint32_t partitions = 16;         ///< watermark.partitions
  std::size_t round = 8;                 ///< event batches per watermark round
  std::int64_t lateness_ns = 20'000'000; ///< watermark.lateness
  std::string matches_file;              ///< where to write the matches (NDJSON), if set
  int repeat = 3;                        ///< runs of each stage (the least CPU counts)
};

/// Runs the normalizer, watermark and matcher stages over the events; prints CPU per event.
int run_stages(const stages_options& o);

} // namespace chainwatch::bench
