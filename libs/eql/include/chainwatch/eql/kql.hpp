#pragma once

// KQL (Kibana Query Language, `language = "kuery"` in Elastic detection rules) compiled to the
// EQL syntax tree: a KQL query becomes the event query `any where <condition>`, so it runs on
// the same predicate engine as EQL. Pure.
//
// What maps to what (keyword-field semantics; chainwatch has no index mappings):
// - `field: value`: exact, case-sensitive; an unquoted `*` is a wildcard (`like`); a quoted
//   value is literal; an unquoted number or boolean also matches its text (`in (400, "400")`);
// - `field: *`: the field exists; `field: (a or b and not c)`: the same field against each;
// - `field < 10`, `<=`, `>`, `>=`; `field: { sub: value }` is `field.sub: value`;
// - `and`, `or`, `not`, parentheses; an array field matches when any element does;
// - `not` holds where the field is missing, as in Elasticsearch (the comparisons and ranges under
//   it are guarded by `field != null`);
// - a wildcard value that also holds an escaped `*` (or a `?`, which `like` would read as a
//   wildcard) is an anchored `regex`.
// Refused with a reason: a value without a field (it searches every field in Elasticsearch),
// wildcard field names, an empty query.

#include <chainwatch/base/expected.hpp>
#include <chainwatch/eql/ast.hpp>
#include <string_view>

namespace chainwatch::eql {

/// Parses a KQL query into `any where <condition>`. Errors carry their place in the KQL text.
expected<query, error> parse_kql(std::string_view text);

/// Parses a rule's query in its language: "eql" (or empty), "kuery" or "lucene"; any other
/// language is an error naming it.
expected<query, error> parse_in(std::string_view language, std::string_view text);

} // namespace chainwatch::eql
