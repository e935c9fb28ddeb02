#pragma once

// Loads rules (Elastic detection-rules TOML files, Sigma YAML files or inline queries) and
// lookup lists from disk for the command line, and reports problems as file:line:col.
// A Sigma rule is compiled to EQL text when it loads (libs/sigma, with the mapping tables of
// config/sigma), so everything after loading (the engine, lint, the mesh) sees an EQL rule.

#include <chainwatch/base/expected.hpp>
#include <chainwatch/engine/engine.hpp>
#include <chainwatch/eql/lists.hpp>
#include <chainwatch/rules/rule.hpp>
#include <memory>
#include <string>
#include <vector>

namespace chainwatch::cli {

/// A rule to run: loaded from a file, or an inline `--query`.
struct loaded_rule {
  rules::rule meta;
  bool inline_query = false;
  /// "sigma" when compiled from a Sigma rule (`meta.query` is then the EQL it compiled to and
  /// `meta.query_line` the first line of its YAML document); empty for TOML and inline rules.
  std::string origin;
};

/// Collects rules from files and directories (recursively, `*.toml`, `*.yml`, `*.yaml`).
/// Problems are appended to `errors` as rendered messages; rules chainwatch does not run
/// (machine learning, deprecated or refused Sigma rules) are reported in `skipped` with why.
std::vector<loaded_rule> load_rules(const std::vector<std::string>& paths,
                                    const std::vector<std::string>& queries,
                                    std::vector<std::string>& errors,
                                    std::vector<std::string>& skipped);

/// Loads every `<name>.<kind>.txt` list in the directories into `out`.
void load_lists(const std::vector<std::string>& dirs, eql::list_registry& out,
                std::vector<std::string>& errors);

/// The Sigma mapping tables directory: $CHAINWATCH_SIGMA, else ./config/sigma when it exists.
std::vector<std::string> default_sigma_dirs();

/// The default lists directory: $CHAINWATCH_LISTS, else ./config/lists when it exists.
std::vector<std::string> default_list_dirs();

/// Renders an EQL error of rule `r` at its place in the rule's file, with the
/// offending line and a caret under the column.
std::string render_rule_error(const loaded_rule& r, const std::string& message, std::uint32_t line,
                              std::uint32_t column, const char* severity = "error");
/// As above for a parse or compile error, whose second position ("opened at") is moved to the
/// file as well.
std::string render_rule_error(const loaded_rule& r, const eql::error& e);

/// What the engine runs for a loaded rule: its query and what its type adds (aggregation,
/// filters, threat_match lists); an error rendered as file:line:col when a list it needs is
/// missing from `opts.lists`.
expected<engine::rule_source, std::string> source_of(const loaded_rule& r,
                                                     const engine::options& opts);

/// Compiles `rules` with `opts`; a compile error rendered at its place in the rule's file.
expected<std::shared_ptr<const engine::ruleset>, std::string>
compile_loaded(const std::vector<loaded_rule>& rules, const engine::options& opts);

/// Splits a comma-separated list (rule paths, list directories, partition ranges), trimming
/// spaces and dropping empty items.
std::vector<std::string> split_list(const std::string& text);

} // namespace chainwatch::cli
