#pragma once

// The `chainwatch` subcommands. Each returns the process exit code.

#include <optional>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// Options of `chainwatch hunt`.
struct hunt_options {
  std::vector<std::string> queries;
  std::vector<std::string> rule_paths;
  std::vector<std::string> list_dirs; ///< empty: default_list_dirs()
  std::vector<std::string> files;
  std::string timestamp_field = "@timestamp";
  std::string timestamp_format = "auto";
  std::string event_type_field = "event.category";
  bool case_sensitive = true;
  std::string order = "time";
  std::string lateness = "5m";
  std::string source; ///< normalize raw input from this source type first (empty: ECS JSON)
  bool progress = true;
  std::size_t max_pending = 1000;
};

/// Runs rules over event files and prints one NDJSON line per match.
int run_hunt(const hunt_options& o);

/// Options of `chainwatch lint`.
struct lint_options {
  std::vector<std::string> queries;
  std::vector<std::string> paths;
  std::vector<std::string> list_dirs;
  std::string event_type_field = "event.category";
};

/// Compiles rules and reports every problem as file:line:col.
int run_lint(const lint_options& o);

} // namespace chainwatch::cli
