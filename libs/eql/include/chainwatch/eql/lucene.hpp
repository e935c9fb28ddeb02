#pragma once

// Lucene query-string syntax (Elasticsearch `query_string`, `language = "lucene"` in Elastic
// detection rules) compiled to the EQL syntax tree, like KQL: the query becomes
// `any where <condition>` and runs on the same predicate engine. Pure.
//
// What maps to what (keyword-field semantics, as for KQL; chainwatch has no index mappings):
// - `field:value`, `field:"phrase"`: exact, case-sensitive; an unquoted number or boolean also
//   matches its text; unquoted `*` and `?` are wildcards (`like`, or an anchored `regex` when
//   the value also holds an escaped `*` or `?`); `field:*` and `_exists_:field`: it exists;
// - `field:[a TO b]`, `{a TO b}`, mixed brackets, `*` for an open end; `field:>10`, `>=`, `<`,
//   `<=`; `field:/regex/` (Lucene's regular expressions, whole value, as RE2);
// - `field:(a OR b)`: the group's terms are tested on that field;
// - Lucene's boolean clauses, with Elasticsearch's default operator OR: `+`, `AND`, `&&` make a
//   clause required; `-`, `NOT`, `!` forbid it; other clauses are optional, and when a group
//   has a required clause its optional ones do not change what matches (`a AND b OR c` is
//   `+a +b c`, which matches as `a and b`); a group of only forbidden clauses matches every
//   event without them;
// - a forbidden clause holds where the field is missing (guarded by `field != null`);
// - boosts (`^2`) only change scores, not what matches: accepted and ignored.
// Refused with a reason and its place: a value without a field (it searches every field),
// lower-case `and`/`or`/`not` standing alone (Lucene reads them as search terms), fuzzy and
// proximity `~`, wildcard field names, date math (`now`) in ranges, the optional regex
// operators (`#`, `@`, `&`, `~`, `<n-m>`), an empty query.

#include <chainwatch/base/expected.hpp>
#include <chainwatch/eql/ast.hpp>
#include <string_view>

namespace chainwatch::eql {

/// Parses a Lucene query string into `any where <condition>`. Errors carry their place.
expected<query, error> parse_lucene(std::string_view text);

} // namespace chainwatch::eql
