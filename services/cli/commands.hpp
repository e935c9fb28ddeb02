#pragma once

// The `chainwatch` subcommands. Each returns the process exit code.

#include <cstdint>
#include <cstdio>
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
  std::vector<std::string> source_dirs; ///< mapping tables (empty: default_source_dirs())
  bool progress = true;
  std::size_t max_pending = 1000;
  std::string max_future =
      "5m";                   ///< the skew guard: how far ahead of its neighbours an event may be
  std::string late_file;      ///< late and skewed events to this NDJSON file (empty: none)
  bool undecided = false;     ///< print undecided absences as lines marked "undecided"
  std::string reference_time; ///< year-less dates read against this (empty: file mtime)
  std::FILE* out = stdout;    ///< where match lines go (`chainwatch test` reads them)
  bool summary = true;        ///< print the summary line on stderr
};

/// Runs rules over event files and prints one NDJSON line per match.
int run_hunt(const hunt_options& o);

/// Options of `chainwatch test`.
struct test_options {
  std::vector<std::string> paths;       ///< rule files or directories
  std::vector<std::string> list_dirs;   ///< empty: default_list_dirs()
  std::vector<std::string> source_dirs; ///< empty: default_source_dirs()
};

/// Runs every rule's test cases (`<dir>/tests/<rule file stem>/<case>/`) through hunt and
/// compares the alerts with the expected ones, printing a diff for each case that differs.
int run_test(const test_options& o);

/// Options of `chainwatch lint`.
struct lint_options {
  std::vector<std::string> queries;
  std::vector<std::string> paths;
  std::vector<std::string> list_dirs;
  std::string event_type_field = "event.category";
  bool cost = true; ///< warn on what makes a rule expensive in a stream (--no-cost: not)
};

/// Compiles rules and reports every problem as file:line:col.
int run_lint(const lint_options& o);

/// Options of `chainwatch normalize`.
struct normalize_options {
  std::string source;
  std::vector<std::string> source_dirs;
  std::vector<std::string> files;
  std::string reference_time; ///< year-less dates read against this (empty: file mtime)
};

/// Normalizes raw logs to ECS, one NDJSON line per input event (or error).
int run_normalize(const normalize_options& o);

/// Lists the source types `normalize` and `hunt --source` accept.
int run_sources();

/// Options of `chainwatch replay`.
struct replay_options {
  std::string nats = "nats://127.0.0.1:4222";
  std::string customer;
  std::string source;
  double speedup = 0; ///< > 0: pace by the events' timestamps, this many times faster
  double rate = 0;    ///< > 0: lines per second
  std::string timestamp_field = "@timestamp";
  bool progress = true;
  bool eof = true; ///< mark the end of input after the files (--no-eof: more will follow)
  std::vector<std::string> files;
};

/// Sends raw lines into CW_INGEST as raw_batches, then marks end of input.
int run_replay(const replay_options& o);

/// Options of `chainwatch alerts tail`.
struct alerts_options {
  std::string nats = "nats://127.0.0.1:4222";
  std::string customer;      ///< empty: every customer
  std::uint64_t count = 0;   ///< exit 0 after this many alerts (0: no limit)
  std::string timeout = "0"; ///< exit 1 when it passes first ("0": none)
  bool json = false;         ///< one alert JSON per line
  bool stream = false;       ///< read the CW_ALERTS stream from its start (each alert once)
};

/// Prints alerts from cw.alerts.* as they arrive.
int run_alerts_tail(const alerts_options& o);

/// Options of `chainwatch status`.
struct status_options {
  std::string nats = "nats://127.0.0.1:4222";
};

/// Prints the matcher nodes, partition owners and checkpoints (watermarks) of the mesh.
int run_status(const status_options& o);

} // namespace chainwatch::cli
