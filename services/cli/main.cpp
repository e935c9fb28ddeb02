#include "commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  using namespace chainwatch::cli;
  CLI::App app{"chainwatch: hunt attack chains in security events with EQL rules"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CHAINWATCH_VERSION));

  hunt_options h;
  auto* hunt = app.add_subcommand("hunt", "Run EQL rules over event files (NDJSON or JSON array, .gz, - for stdin)");
  hunt->add_option("--query,-q", h.queries, "An EQL query (repeatable)");
  hunt->add_option("--rules,-r", h.rule_paths, "A detection-rules TOML file or directory (repeatable)");
  hunt->add_option("--lists", h.list_dirs, "Directory of lookup lists (default: $CHAINWATCH_LISTS or ./config/lists)");
  hunt->add_option("--timestamp-field", h.timestamp_field, "Field holding the event time")->capture_default_str();
  hunt->add_option("--timestamp-format", h.timestamp_format, "auto|iso8601|epoch_s|epoch_ms|filetime")->capture_default_str();
  hunt->add_option("--event-type-field", h.event_type_field, "Field holding the event category")->capture_default_str();
  bool sensitive = false, insensitive = false;
  auto* cs = hunt->add_flag("--case-sensitive", sensitive, "Exact string comparisons (default; Elastic EQL)");
  auto* ci = hunt->add_flag("--case-insensitive", insensitive, "Case-insensitive comparisons (Endgame EQL)");
  cs->excludes(ci);
  hunt->add_option("--order", h.order, "time: event-time order within --lateness; arrival: as read")->capture_default_str();
  hunt->add_option("--lateness", h.lateness, "How far behind the newest event an event may arrive")->capture_default_str();
  hunt->add_option("--max-pending", h.max_pending, "Cap of pending sequences per rule and key")->capture_default_str();
  hunt->add_flag("!--no-progress", h.progress, "Never show the progress line");
  hunt->add_option("files", h.files, "Event files")->required();

  lint_options l;
  auto* lint = app.add_subcommand("lint", "Compile rules and report errors as file:line:col");
  lint->add_option("--query,-q", l.queries, "An EQL query (repeatable)");
  lint->add_option("--lists", l.list_dirs, "Directory of lookup lists");
  lint->add_option("--event-type-field", l.event_type_field, "Field holding the event category")->capture_default_str();
  lint->add_option("paths", l.paths, "Rule files or directories");

  CLI11_PARSE(app, argc, argv);
  if (*hunt) {
    if (insensitive) h.case_sensitive = false;
    return run_hunt(h);
  }
  if (*lint) return run_lint(l);
  return 2;
}
