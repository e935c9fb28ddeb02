#include "compiled.hpp"

#include <absl/container/flat_hash_set.h>
#include <chainwatch/engine/cost.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/eql/kql.hpp>

namespace chainwatch::engine {

namespace {

/// One step of a rule as written, with what the warnings say about it.
struct written_step {
  const eql::event_query* query = nullptr;
  eql::location where;
  std::string name; ///< "step 2", "until step", "query"
  detail::role what = detail::role::positive;
};

/// Where the query's first token is (the `sequence` or `join` keyword): whitespace and comments
/// skipped.
eql::location query_start(std::string_view text) {
  eql::location at;
  std::size_t i = 0;
  auto step = [&] {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
    ++i;
  };
  while (i < text.size()) {
    if (text.substr(i, 2) == "//") {
      while (i < text.size() && text[i] != '\n')
        step();
    } else if (text.substr(i, 2) == "/*") {
      auto end = text.find("*/", i + 2);
      auto stop = end == std::string_view::npos ? text.size() : end + 2;
      while (i < stop)
        step();
    } else if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r' ||
               text[i] == '\f' || text[i] == '\v') {
      step();
    } else {
      break;
    }
  }
  at.offset = static_cast<std::uint32_t>(i);
  return at;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

const std::string* string_literal(const eql::expr& e) {
  return e.kind == eql::op::literal ? std::get_if<std::string>(&e.value) : nullptr;
}

/// A pattern (literal or list element) that starts with `*`: matching it scans the value.
const std::string* leading_wildcard(const eql::expr& e) {
  if (auto* s = string_literal(e)) return !s->empty() && s->front() == '*' ? s : nullptr;
  if (e.kind == eql::op::list)
    for (const auto& x : e.children)
      if (auto* s = leading_wildcard(x)) return s;
  return nullptr;
}

/// Regexes and scanning patterns of a condition, in query order; lineage subqueries excluded
/// (they are evaluated on process events by the lineage tracker, not as the step).
struct scans {
  std::string first; ///< what the first one is, as the warning names it
  eql::location where;
  std::size_t count = 0;

  void add(const eql::expr& at, std::string what) {
    if (count++ == 0) {
      first = std::move(what);
      where = at.where;
    }
  }

  void walk(const eql::expr& e) {
    using eql::op;
    switch (e.kind) {
    case op::regex:
    case op::regex_insensitive:
      if (e.children.size() == 2) {
        const eql::expr& pat = e.children[1];
        const std::string* s = string_literal(pat);
        if (!s && pat.kind == op::list && !pat.children.empty())
          s = string_literal(pat.children[0]);
        add(e, s ? "regex " + quoted(*s) : "regex");
      }
      break;
    case op::like:
    case op::like_insensitive:
    case op::colon:
      if (e.children.size() == 2)
        if (auto* s = leading_wildcard(e.children[1]))
          add(e, "pattern " + quoted(*s) + " (a leading '*')");
      break;
    case op::eq:
    case op::ne: // Endgame: `==` with a `*` in the literal is a wildcard, on either side
      for (const auto& c : e.children)
        if (auto* s = c.kind == op::literal ? leading_wildcard(c) : nullptr) {
          add(e, "pattern " + quoted(*s) + " (a leading '*')");
          break;
        }
      break;
    case op::call: {
      std::string_view name = e.name;
      if (!name.empty() && name.back() == '~') name.remove_suffix(1); // match~ is match
      auto arg = [&](std::size_t i) -> const std::string* {
        return i < e.children.size() ? string_literal(e.children[i]) : nullptr;
      };
      if (eql::iequals(name, "match") || eql::iequals(name, "matchLite")) {
        add(e, arg(1) ? "regex " + quoted(*arg(1)) : "regex");
      } else if (eql::iequals(name, "wildcard")) {
        for (std::size_t i = 1; i < e.children.size(); ++i)
          if (auto* s = leading_wildcard(e.children[i])) {
            add(e, "pattern " + quoted(*s) + " (a leading '*')");
            break;
          }
      } else if (eql::iequals(name, "stringContains")) {
        add(e, arg(1) ? "substring search for " + quoted(*arg(1)) : "substring search");
      }
      break;
    }
    default:
      break;
    }
    for (const auto& c : e.children)
      walk(c);
  }
};

std::string max_pending_text(const options& o) {
  return "max_pending_per_key (" + std::to_string(o.max_pending_per_key) + " per key)";
}

void query_warnings(std::uint32_t rule, const options& opts, std::string_view kind,
                    const std::vector<eql::expr>& by, const std::vector<eql::step>& steps,
                    const std::optional<eql::step>& until, bool has_maxspan, eql::location start,
                    std::vector<cost_warning>& out) {
  // Step-level keys count: every step has as many (the compiler checks it).
  bool keyed = !by.empty() || (!steps.empty() && !steps.front().by.empty());
  if (!keyed)
    out.push_back({rule, cost_reason::unkeyed, start,
                   std::string(kind) +
                       " without join keys (by): the partial matches of the whole stream share "
                       "one key's state, held by one partition"});
  if (!has_maxspan) {
    std::string head = kind == "join" ? "join without a time bound (a join takes no maxspan)"
                                      : std::string(kind) + " without maxspan";
    std::string life = until ? "partial matches live until the until step matches, bounded "
                               "otherwise only by "
                             : "partial matches never expire, bounded only by ";
    out.push_back(
        {rule, cost_reason::unbounded, start, head + ": " + life + max_pending_text(opts)});
  }
}

std::string every_event(const std::string& category, const options& opts) {
  if (category == "any") return "every event (category any)";
  return "every event whose " + opts.category_field + " is " + quoted(category);
}

} // namespace

std::string_view to_string(cost_reason r) noexcept {
  switch (r) {
  case cost_reason::unkeyed:
    return "unkeyed";
  case cost_reason::unbounded:
    return "unbounded";
  case cost_reason::unindexed:
    return "unindexed";
  case cost_reason::scan:
    return "scan";
  }
  return "cost";
}

std::vector<cost_warning> cost_warnings(const ruleset& rules) {
  const detail::compiled& c = rules.impl();
  // Steps the router evaluates on every event of their bucket.
  absl::flat_hash_set<step_id> plain(c.any.plain.begin(), c.any.plain.end());
  for (const auto& [category, b] : c.categories)
    plain.insert(b.plain.begin(), b.plain.end());
  // Each rule's leader steps (runs copies share their leader's condition) in id order.
  std::vector<std::vector<step_id>> leaders(c.rules.size());
  for (step_id id = 0; id < c.steps.size(); ++id)
    if (c.steps[id].group >= 1 && c.steps[id].rule < leaders.size())
      leaders[c.steps[id].rule].push_back(id);

  std::vector<cost_warning> out;
  for (std::uint32_t ri = 0; ri < c.rules.size(); ++ri) {
    const rule_source& src = c.sources[ri];
    auto q = eql::parse_in(src.language, src.query);
    if (!q) continue; // it compiled: cannot happen
    // The steps as written, in step id order: the until step, then the steps from last to first.
    std::vector<written_step> written;
    auto add_steps = [&](const std::vector<eql::step>& steps,
                         const std::optional<eql::step>& until) {
      if (until)
        written.push_back({&until->query, until->where, "until step", detail::role::until});
      for (std::size_t i = steps.size(); i-- > 0;)
        written.push_back({&steps[i].query, steps[i].where,
                           (steps[i].missing ? "missing step " : "step ") + std::to_string(i + 1),
                           steps[i].missing ? detail::role::missing : detail::role::positive});
    };
    const auto start = query_start(src.query);
    if (auto* ev = std::get_if<eql::event_query>(&q->body)) {
      // KQL queries have no category token: their place is the query's start.
      bool placed = ev->where.offset != 0 || ev->where.line != 1 || ev->where.column != 1;
      written.push_back({ev, placed ? ev->where : start, "query"});
      // An aggregate (threshold, suppression) without group fields is one key.
      const auto& rule = c.rules[ri];
      if (rule.kind == detail::rule_kind::aggregate && rule.agg.by.empty())
        out.push_back({ri, cost_reason::unkeyed, start,
                       "aggregation without group fields: every matching event of the stream "
                       "is counted in one key's state, held by one partition"});
    } else if (auto* sq = std::get_if<eql::sequence_query>(&q->body)) {
      query_warnings(ri, c.opts, "sequence", sq->by, sq->steps, sq->until,
                     sq->maxspan_ns.has_value(), start, out);
      add_steps(sq->steps, sq->until);
    } else if (auto* jq = std::get_if<eql::join_query>(&q->body)) {
      query_warnings(ri, c.opts, "join", jq->by, jq->steps, jq->until, false, start, out);
      add_steps(jq->steps, jq->until);
    }
    // Only when the compiled steps are the written ones (a rule kind compiled otherwise is not
    // judged by its steps).
    const auto& ids = leaders[ri];
    if (written.size() != ids.size()) continue;
    bool lined_up = true;
    for (std::size_t i = 0; i < ids.size(); ++i)
      lined_up = lined_up && c.steps[ids[i]].what == written[i].what;
    if (!lined_up) continue;
    for (std::size_t i = written.size(); i-- > 0;) { // in query order
      const written_step& w = written[i];
      if (!plain.contains(ids[i])) continue;
      std::string where_run = every_event(w.query->category, c.opts);
      out.push_back({ri, cost_reason::unindexed, w.where,
                     w.name +
                         " has no indexable condition (no field ==, : or in with literal "
                         "values among its and-ed terms): it is evaluated on " +
                         where_run});
      scans s;
      s.walk(w.query->condition);
      if (s.count == 0) continue;
      std::string msg =
          s.first + " is evaluated on " + where_run + ": " + w.name + " has no indexable condition";
      if (s.count > 1) msg += " (and " + std::to_string(s.count - 1) + " more in this step)";
      out.push_back({ri, cost_reason::scan, s.where, std::move(msg)});
    }
  }
  return out;
}

} // namespace chainwatch::engine
