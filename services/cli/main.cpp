#include "commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  using namespace chainwatch::cli;
  CLI::App app{"chainwatch: hunt attack chains in security events with EQL rules"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CHAINWATCH_VERSION));

  hunt_options h;
  auto* hunt = app.add_subcommand(
      "hunt", "Run EQL rules over event files (NDJSON or JSON array, .gz, - for stdin)");
  hunt->add_option("--query,-q", h.queries, "An EQL query (repeatable)")->allow_extra_args(false);
  hunt->add_option("--rules,-r", h.rule_paths,
                   "A detection-rules TOML file or directory (repeatable)")
      ->allow_extra_args(false);
  hunt->add_option("--lists", h.list_dirs,
                   "Directory of lookup lists (default: $CHAINWATCH_LISTS or ./config/lists)")
      ->allow_extra_args(false);
  hunt->add_option("--timestamp-field", h.timestamp_field, "Field holding the event time")
      ->capture_default_str();
  hunt->add_option("--timestamp-format", h.timestamp_format,
                   "auto|iso8601|epoch_s|epoch_ms|filetime")
      ->capture_default_str();
  hunt->add_option("--event-type-field", h.event_type_field, "Field holding the event category")
      ->capture_default_str();
  bool sensitive = false, insensitive = false;
  auto* cs = hunt->add_flag("--case-sensitive", sensitive,
                            "Exact string comparisons (default; Elastic EQL)");
  auto* ci = hunt->add_flag("--case-insensitive", insensitive,
                            "Case-insensitive comparisons (Endgame EQL)");
  cs->excludes(ci);
  hunt->add_option("--order", h.order, "time: event-time order within --lateness; arrival: as read")
      ->capture_default_str();
  hunt->add_option("--lateness", h.lateness, "How far behind the newest event an event may arrive")
      ->capture_default_str();
  hunt->add_option("--max-pending", h.max_pending, "Cap of pending sequences per rule and key")
      ->capture_default_str();
  hunt->add_option("--source", h.source,
                   "Normalize raw logs of this source type first (see `chainwatch sources`)");
  hunt->add_option(
          "--sources-dir", h.source_dirs,
          "Directory of source mapping tables (default: $CHAINWATCH_SOURCES or ./config/sources)")
      ->allow_extra_args(false);
  hunt->add_option("--max-future", h.max_future,
                   "Skew guard: an event this far ahead of its neighbours in its file is set aside")
      ->capture_default_str();
  hunt->add_option("--late", h.late_file,
                   "Write late and skewed events to this file (NDJSON: reason, file, line, event)");
  hunt->add_flag("--undecided", h.undecided,
                 "Also print absences whose window was still open at the end of input, marked "
                 "\"undecided\": true (they are never matches)");
  hunt->add_option("--reference-time", h.reference_time,
                   "Year-less (RFC 3164) dates are read against this ISO 8601 time (default: each "
                   "file's modification time; stdin: now)");
  hunt->add_flag("!--no-progress", h.progress, "Never show the progress line");
  hunt->add_option("files", h.files, "Event files")->required();

  lint_options l;
  auto* lint = app.add_subcommand("lint", "Compile rules and report errors as file:line:col");
  lint->add_option("--query,-q", l.queries, "An EQL query (repeatable)")->allow_extra_args(false);
  lint->add_option("--lists", l.list_dirs, "Directory of lookup lists")->allow_extra_args(false);
  lint->add_option("--event-type-field", l.event_type_field, "Field holding the event category")
      ->capture_default_str();
  lint->add_flag("!--no-cost", l.cost,
                 "No cost warnings (unkeyed, unbounded, unindexed steps, regex scans)");
  lint->add_option("paths", l.paths, "Rule files or directories");

  normalize_options n;
  auto* norm = app.add_subcommand(
      "normalize", "Normalize raw logs to ECS (NDJSON out; errors as {\"error\": ...})");
  norm->add_option("--source,-s", n.source, "Source type (see `chainwatch sources`)")->required();
  norm->add_option("--sources-dir", n.source_dirs, "Directory of source mapping tables")
      ->allow_extra_args(false);
  norm->add_option("--reference-time", n.reference_time,
                   "Year-less (RFC 3164) dates are read against this ISO 8601 time (default: each "
                   "file's modification time; stdin: now)");
  norm->add_option("files", n.files, "Raw log files (default: stdin)");

  auto* srcs = app.add_subcommand("sources", "List the source types normalize understands");

  test_options t;
  auto* test = app.add_subcommand(
      "test", "Run rules' test cases (<rules dir>/tests/<rule file stem>/<case>/: events.ndjson "
              "or events.<source>.<ext>, expected.ndjson) through hunt; a diff when they differ");
  test->add_option("--lists", t.list_dirs, "Directory of lookup lists")->allow_extra_args(false);
  test->add_option("--sources-dir", t.source_dirs, "Directory of source mapping tables")
      ->allow_extra_args(false);
  test->add_option("paths", t.paths, "Rule files or directories")->required();

  replay_options rp;
  auto* replay = app.add_subcommand(
      "replay", "Send raw log lines into the mesh (CW_INGEST), then mark end of input");
  replay->add_option("--nats", rp.nats, "NATS server URL")->capture_default_str();
  replay->add_option("--customer", rp.customer, "Customer id")->required();
  replay->add_option("--source", rp.source, "Source type (normalizer mapping name)")->required();
  auto* speedup =
      replay->add_option("--speedup", rp.speedup,
                         "Pace by event time (JSON lines, --timestamp-field), X times faster");
  auto* rate = replay->add_option("--rate", rp.rate, "Lines per second");
  speedup->excludes(rate);
  replay
      ->add_option("--timestamp-field", rp.timestamp_field,
                   "Event time field for --speedup (JSON lines)")
      ->capture_default_str();
  replay->add_flag("!--no-progress", rp.progress, "Never show the progress line");
  replay->add_flag("!--no-eof", rp.eof,
                   "Do not mark the end of input (a later replay of the source continues it)");
  replay->add_option("files", rp.files, "Raw log files (.gz, - for stdin)")->required();

  alerts_options al;
  auto* alerts = app.add_subcommand("alerts", "Alerts published by the mesh");
  alerts->require_subcommand(1);
  auto* tail = alerts->add_subcommand("tail", "Print alerts as they arrive (cw.alerts.*)");
  tail->add_option("--nats", al.nats, "NATS server URL")->capture_default_str();
  tail->add_option("--customer", al.customer, "Only this customer's alerts");
  tail->add_option("--count", al.count, "Exit 0 after N alerts");
  tail->add_option("--timeout", al.timeout,
                   "Exit 1 if N alerts did not arrive within it (e.g. 30s)")
      ->capture_default_str();
  tail->add_flag("--json", al.json, "One alert JSON per line");
  tail->add_flag("--stream", al.stream,
                 "Read the CW_ALERTS stream from its start: every stored alert exactly once");

  status_options st;
  auto* status =
      app.add_subcommand("status", "Matcher nodes, partition owners and checkpoints of the mesh");
  status->add_option("--nats", st.nats, "NATS server URL")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (*hunt) {
    if (insensitive) h.case_sensitive = false;
    return run_hunt(h);
  }
  if (*lint) return run_lint(l);
  if (*norm) return run_normalize(n);
  if (*srcs) return run_sources();
  if (*test) return run_test(t);
  if (*replay) return run_replay(rp);
  if (*tail) return run_alerts_tail(al);
  if (*status) return run_status(st);
  return 2;
}
