#include "compiled.hpp"

#include <algorithm>
#include <bit>
#include <chainwatch/eql/kql.hpp>
#include <charconv>
#include <cmath>
#include <deque>
#include <functional>
#include <xxhash.h>

namespace chainwatch::engine {

namespace detail {

namespace {

void append_folded(std::string& out, std::string_view s, bool fold) {
  if (!fold) {
    out.append(s);
    return;
  }
  // Grow once and write in place: this runs for every key and indexed value of every event.
  const std::size_t at = out.size();
  out.resize(at + s.size());
  char* dst = out.data() + at;
  for (char c : s)
    *dst++ = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

void append_int(std::string& out, std::int64_t i) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), i);
  out.append(buf, end);
}

// Integral reals print as integers so that 1 and 1.0 give the same key.
void append_number(std::string& out, double d) {
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e18) {
    append_int(out, static_cast<std::int64_t>(d));
    return;
  }
  if (!std::isfinite(d)) {
    out.append("null");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  out.append(buf, end);
}

} // namespace

void append_key_value(std::string& out, const eql::value& v, bool fold) {
  switch (v.t) {
  case eql::value::type::null:
    out.append("null");
    break;
  case eql::value::type::boolean:
    out.append(v.b ? "true" : "false");
    break;
  case eql::value::type::integer:
    append_int(out, v.i);
    break;
  case eql::value::type::real:
    append_number(out, v.d);
    break;
  case eql::value::type::string:
    if (fold) {
      thread_local std::string tmp; // reused: no allocation per key
      tmp.clear();
      append_folded(tmp, v.s, true);
      event::append_json_string(out, tmp);
    } else {
      event::append_json_string(out, v.s);
    }
    break;
  case eql::value::type::array:
  case eql::value::type::object:
    event::append_json(out, v.ref);
    break;
  }
}

bool append_index_value(std::string& out, const eql::value& v, bool fold) {
  switch (v.t) {
  case eql::value::type::boolean:
    out.append(v.b ? "t" : "f");
    return true;
  case eql::value::type::integer:
    out.push_back('n');
    append_int(out, v.i);
    return true;
  case eql::value::type::real:
    out.push_back('n');
    append_number(out, v.d);
    return true;
  case eql::value::type::string:
    out.push_back('s');
    append_folded(out, v.s, fold);
    return true;
  default:
    return false;
  }
}

} // namespace detail

namespace {

using detail::compiled;

eql::value literal_value(const eql::literal& lit) {
  if (auto* b = std::get_if<bool>(&lit)) return eql::value::boolean(*b);
  if (auto* i = std::get_if<std::int64_t>(&lit)) return eql::value::integer(*i);
  if (auto* d = std::get_if<double>(&lit)) return eql::value::real(*d);
  if (auto* s = std::get_if<std::string>(&lit)) return eql::value::string(*s);
  return eql::value::null();
}

// A literal usable as an index value: scalars without wildcard characters.
bool indexable(const eql::expr& e) {
  if (e.kind != eql::op::literal) return false;
  if (std::holds_alternative<std::monostate>(e.value)) return false;
  if (auto* s = std::get_if<std::string>(&e.value))
    return s->find_first_of("*?") == std::string::npos;
  return true;
}

bool plain_field(const eql::expr& e) {
  return e.kind == eql::op::field && !e.path.empty() && !e.path.front().name.empty() &&
         e.path.front().name != "events";
}

/// One way to index a step: a field and the values it must equal.
struct index_choice {
  std::string path_text;
  event::field_path path;
  bool fold = false;
  std::vector<std::string> values;
};

void flatten_and(const eql::expr& e, std::vector<const eql::expr*>& out) {
  if (e.kind == eql::op::and_) {
    for (auto& c : e.children)
      flatten_and(c, out);
  } else {
    out.push_back(&e);
  }
}

event::field_path to_path(const std::vector<eql::path_segment>& segs) {
  std::vector<event::field_path::segment> out;
  out.reserve(segs.size());
  for (auto& s : segs)
    out.push_back({s.name, s.index});
  return event::field_path(std::move(out));
}

std::string path_text(const std::vector<eql::path_segment>& segs) {
  std::string out;
  for (auto& s : segs) {
    if (!s.name.empty()) {
      if (!out.empty()) out.push_back('.');
      out.append(s.name);
    } else {
      out.push_back('[');
      out.append(std::to_string(s.index));
      out.push_back(']');
    }
  }
  return out;
}

std::vector<index_choice> index_choices(const eql::expr& cond, bool case_sensitive) {
  std::vector<const eql::expr*> conj;
  flatten_and(cond, conj);
  std::vector<index_choice> out;
  for (auto* c : conj) {
    if (c->children.size() != 2) continue;
    const eql::expr& a = c->children[0];
    const eql::expr& b = c->children[1];
    index_choice ch;
    std::vector<const eql::expr*> lits;
    const eql::expr* field = nullptr;
    switch (c->kind) {
    case eql::op::eq:
    case eql::op::colon:
      ch.fold = c->kind == eql::op::colon || !case_sensitive;
      if (plain_field(a) && indexable(b)) {
        field = &a;
        lits.push_back(&b);
      } else if (plain_field(b) && indexable(a)) {
        field = &b;
        lits.push_back(&a);
      } else if (c->kind == eql::op::colon && plain_field(a) && b.kind == eql::op::list) {
        field = &a;
        for (auto& x : b.children)
          lits.push_back(&x);
      }
      break;
    case eql::op::in:
    case eql::op::in_insensitive:
      ch.fold = c->kind == eql::op::in_insensitive || !case_sensitive;
      if (plain_field(a) && b.kind == eql::op::list) {
        field = &a;
        for (auto& x : b.children)
          lits.push_back(&x);
      }
      break;
    default:
      break;
    }
    if (!field || lits.empty()) continue;
    bool ok = true;
    for (auto* l : lits) {
      std::string v;
      if (!indexable(*l) || !detail::append_index_value(v, literal_value(l->value), ch.fold)) {
        ok = false;
        break;
      }
      ch.values.push_back(std::move(v));
    }
    if (!ok) continue;
    ch.path_text = path_text(field->path);
    ch.path = to_path(field->path);
    out.push_back(std::move(ch));
  }
  return out;
}

bool is_lineage(const eql::expr& e) {
  return (e.kind == eql::op::descendant_of || e.kind == eql::op::child_of ||
          e.kind == eql::op::event_of) &&
         e.subquery.size() == 1;
}

/// Splits top-level `[not] lineage` conjuncts off a condition.
eql::expr strip_lineage(const eql::expr& cond,
                        std::vector<std::pair<const eql::expr*, bool>>& out) {
  std::vector<const eql::expr*> conj;
  flatten_and(cond, conj);
  std::vector<const eql::expr*> kept;
  for (auto* c : conj) {
    if (is_lineage(*c))
      out.emplace_back(c, false);
    else if (c->kind == eql::op::not_ && c->children.size() == 1 && is_lineage(c->children[0]))
      out.emplace_back(&c->children[0], true);
    else
      kept.push_back(c);
  }
  if (out.empty()) return cond;
  eql::expr r;
  r.where = cond.where;
  if (kept.empty()) {
    r.kind = eql::op::literal;
    r.value = true;
  } else if (kept.size() == 1) {
    r = *kept[0];
  } else {
    r.kind = eql::op::and_;
    for (auto* k : kept)
      r.children.push_back(*k);
  }
  return r;
}

/// Events a count aggregate holds per group at most (records count words in 16 bits, and a
/// distinct count takes two words per event).
constexpr std::uint32_t max_counted = 30000;

/// Why an aggregate cannot run (nullopt: it can).
std::optional<eql::error> check_aggregate(const aggregate& a, bool lineage, bool pipes,
                                          eql::location where) {
  auto fail = [&](std::string m) { return eql::error{std::move(m), where, {0, 0, 0}}; };
  if (lineage) return fail("process lineage (descendant of, child of) cannot be aggregated");
  if (pipes) return fail("pipes cannot be combined with an aggregation");
  if (a.window_ns < 0 || a.suppress_ns < 0) return fail("a negative time span");
  if (a.kind == aggregate::type::count) {
    if (a.min_count == 0) return fail("a count must be at least 1");
    if (a.min_count > max_counted)
      return fail("a count of more than " + std::to_string(max_counted) +
                  " events per group is not supported");
    if (a.min_distinct > 0 && a.distinct_field.empty())
      return fail("a distinct count needs its field");
  }
  if (a.kind == aggregate::type::first_seen) {
    if (a.by.empty()) return fail("first_seen needs at least one field");
    if (a.window_ns <= 0) return fail("first_seen needs a history window");
  }
  for (const auto& f : a.by)
    if (f.empty()) return fail("an empty field name");
  return std::nullopt;
}

/// A field reference to a dotted path (group fields come from rule metadata, not EQL text).
eql::expr field_expr(const std::string& path, eql::location where) {
  eql::expr e;
  e.kind = eql::op::field;
  e.where = where;
  std::size_t pos = 0;
  for (;;) {
    auto dot = path.find('.', pos);
    e.path.push_back({path.substr(pos, dot == std::string::npos ? dot : dot - pos), -1});
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return e;
}

struct step_plan {
  const eql::step* ast = nullptr;
  detail::role what = detail::role::positive;
  std::uint16_t index = 0;
  std::uint16_t runs = 1;
};

expected<eql::expression, rule_error> compile_expr(const eql::expr& e, std::size_t rule,
                                                   const eql::compile_options& copts) {
  auto r = eql::compile(e, copts);
  if (!r) return unexpected{rule_error{rule, r.error()}};
  return std::move(*r);
}

} // namespace

ruleset::~ruleset() = default;

std::size_t ruleset::size() const noexcept {
  return impl_->rules.size();
}

const rule_source& ruleset::source(std::uint32_t rule) const noexcept {
  return impl_->sources[rule];
}

const options& ruleset::opts() const noexcept {
  return impl_->opts;
}

std::size_t ruleset::step_count() const noexcept {
  return impl_->steps.size();
}

std::uint64_t ruleset::fingerprint() const noexcept {
  return impl_->fingerprint;
}

expected<std::shared_ptr<const ruleset>, rule_error>
ruleset::compile(std::vector<rule_source> sources, const options& opts) {
  auto c = std::make_unique<compiled>();
  c->opts = opts;
  c->category = event::field_path(opts.category_field);
  eql::compile_options copts;
  copts.case_sensitive = opts.case_sensitive;
  copts.lists = opts.lists;
  eql::field_slots slots; // the router reads each distinct field of an event once
  copts.slots = &slots;

  // Steps to index: (step id, category, condition ast), filled while compiling.
  struct pending_index {
    step_id id;
    std::string category;
    const eql::expr* cond;
  };
  std::vector<pending_index> to_index;
  std::vector<eql::query> asts;
  asts.reserve(sources.size());

  c->pid = event::field_path(opts.pid_field);
  c->ppid = event::field_path(opts.ppid_field);
  c->subtype = event::field_path(opts.process_subtype_field);
  std::deque<eql::event_query> stripped_queries; // lineage removed; the index reads them
  // Canonical text -> id, for evaluating repeated conditions and key lists once per event.
  absl::flat_hash_map<std::string, std::uint32_t> condition_ids, key_list_ids;
  auto intern = [](absl::flat_hash_map<std::string, std::uint32_t>& ids, std::string text) {
    return ids.try_emplace(std::move(text), static_cast<std::uint32_t>(ids.size())).first->second;
  };

  // Compiles a lineage term and, first, the terms of its bracketed query.
  std::function<expected<std::uint32_t, rule_error>(const eql::expr&, bool, std::size_t)>
      compile_lineage = [&](const eql::expr& e, bool negated,
                            std::size_t ri) -> expected<std::uint32_t, rule_error> {
    const eql::event_query& sub = e.subquery[0];
    std::vector<std::pair<const eql::expr*, bool>> inner;
    eql::expr stripped = strip_lineage(sub.condition, inner);
    detail::lineage_term t;
    t.kind = e.kind == eql::op::descendant_of ? detail::lineage_kind::descendant
             : e.kind == eql::op::child_of    ? detail::lineage_kind::child
                                              : detail::lineage_kind::event;
    t.negated = negated;
    t.category = sub.category;
    auto cond = compile_expr(stripped, ri, copts);
    if (!cond) return unexpected{cond.error()};
    t.condition = std::move(*cond);
    for (auto& [x, neg] : inner) {
      auto id = compile_lineage(*x, neg, ri);
      if (!id) return unexpected{id.error()};
      t.nested.push_back(*id);
    }
    c->lineage.push_back(std::move(t));
    return static_cast<std::uint32_t>(c->lineage.size() - 1);
  };

  for (std::size_t ri = 0; ri < sources.size(); ++ri) {
    auto parsed = eql::parse_in(sources[ri].language, sources[ri].query);
    if (!parsed) return unexpected{rule_error{ri, parsed.error()}};
    if (!sources[ri].also.empty() || sources[ri].agg.active()) {
      auto* ev = std::get_if<eql::event_query>(&parsed->body);
      if (!ev)
        return unexpected{rule_error{
            ri,
            {"this rule type (threshold, new_terms, threat_match, alert suppression) takes an "
             "event query, not a sequence or join",
             {}}}};
      if (!sources[ri].also.empty()) {
        auto also = eql::parse_expression(sources[ri].also);
        if (!also) {
          also.error().message = "in the condition the rule type adds (" + sources[ri].also +
                                 "): " + also.error().message;
          also.error().where = ev->where;
          return unexpected{rule_error{ri, also.error()}};
        }
        eql::expr both;
        both.kind = eql::op::and_;
        both.where = ev->where;
        both.children.push_back(std::move(ev->condition));
        both.children.push_back(std::move(*also));
        ev->condition = std::move(both);
      }
    }
    asts.push_back(std::move(*parsed));
    const eql::query& q = asts.back();
    detail::rule r;
    r.pipes = q.pipes;
    auto rule_no = static_cast<std::uint32_t>(ri);

    auto add_step = [&](const eql::event_query& eq, const std::vector<eql::expr>* seq_by,
                        const std::vector<eql::expr>* step_by, detail::role what,
                        std::uint16_t index, std::uint16_t group,
                        bool fork) -> std::optional<rule_error> {
      detail::step s;
      s.rule = rule_no;
      s.fork = fork;
      s.what = what;
      s.index = index;
      s.group = group;
      auto cond = compile_expr(eq.condition, ri, copts);
      if (!cond) return cond.error();
      s.condition = std::move(*cond);
      s.condition_id = intern(condition_ids, eql::to_string(eq.condition));
      std::string key_text;
      for (auto* list : {seq_by, step_by}) {
        if (!list) continue;
        for (auto& k : *list) {
          auto ke = compile_expr(k, ri, copts);
          if (!ke) return ke.error();
          s.keys.push_back(std::move(*ke));
          key_text += eql::to_string(k);
          key_text += '\0';
        }
      }
      s.keys_id = intern(key_list_ids, std::move(key_text));
      auto id = static_cast<step_id>(c->steps.size());
      to_index.push_back({id, eq.category, &eq.condition});
      c->steps.push_back(std::move(s));
      // Copies of a `runs` group share the leader's condition and keys.
      for (std::uint16_t k = 1; k < group; ++k) {
        detail::step copy;
        copy.rule = rule_no;
        copy.what = what;
        copy.index = static_cast<std::uint16_t>(index - k);
        copy.group = 0;
        copy.fork = fork;
        c->steps.push_back(std::move(copy));
      }
      return std::nullopt;
    };

    auto plan_steps = [&](const std::vector<eql::step>& steps, const std::vector<eql::expr>& by,
                          const std::optional<eql::step>& until,
                          bool allow_missing) -> std::optional<rule_error> {
      std::vector<step_plan> plan;
      std::uint16_t positives = 0;
      std::size_t keys = std::numeric_limits<std::size_t>::max();
      for (auto& st : steps) {
        if (keys == std::numeric_limits<std::size_t>::max()) keys = st.by.size();
        if (st.by.size() != keys)
          return rule_error{ri, {"every step must have the same number of join keys", st.where}};
        if (st.missing) {
          if (!allow_missing)
            return rule_error{ri, {"missing-event steps are only allowed in sequences", st.where}};
          plan.push_back({&st, detail::role::missing, positives, 1});
        } else {
          if (st.runs == 0 || st.runs > 1000)
            return rule_error{ri, {"runs must be between 1 and 1000", st.where}};
          plan.push_back(
              {&st, detail::role::positive, positives, static_cast<std::uint16_t>(st.runs)});
          positives = static_cast<std::uint16_t>(positives + st.runs);
          // Stages are stored in 12 bits per record.
          if (positives > 4000)
            return rule_error{ri,
                              {"a sequence may have at most 4000 steps (runs included)", st.where}};
        }
      }
      if (positives == 0)
        return rule_error{ri,
                          {"a sequence or join needs at least one step that is not missing", {}}};
      if (r.maxspan && *r.maxspan < 0) return rule_error{ri, {"maxspan must not be negative", {}}};
      r.positives = positives;
      if (until && until->by.size() != keys && !steps.empty())
        return rule_error{
            ri, {"until must have the same number of join keys as the steps", until->where}};
      for (auto& p : plan) {
        if (p.what != detail::role::missing) continue;
        if (p.index == 0) r.leading_missing = true;
        if (p.index == positives) r.trailing_missing = true;
        if ((p.index == 0 || p.index == positives) && !r.maxspan)
          return rule_error{
              ri, {"a missing step at the start or end of a sequence needs maxspan", p.ast->where}};
      }
      // Ids in processing order: until first, then steps from last to first.
      if (until) {
        if (auto e = add_step(until->query, &by, &until->by, detail::role::until, 0, 1, false))
          return e;
      }
      for (auto it = plan.rbegin(); it != plan.rend(); ++it) {
        std::uint16_t index = it->what == detail::role::positive
                                  ? static_cast<std::uint16_t>(it->index + it->runs - 1)
                                  : it->index;
        if (auto e = add_step(it->ast->query, &by, &it->ast->by, it->what, index, it->runs,
                              it->ast->fork))
          return e;
      }
      return std::nullopt;
    };

    if (auto* ev = std::get_if<eql::event_query>(&q.body)) {
      r.kind = detail::rule_kind::event;
      r.positives = 1;
      std::vector<std::pair<const eql::expr*, bool>> terms;
      eql::expr stripped = strip_lineage(ev->condition, terms);
      for (auto& [x, neg] : terms) {
        auto id = compile_lineage(*x, neg, ri);
        if (!id) return unexpected{id.error()};
        r.lineage.push_back(*id);
      }
      const eql::event_query* use = ev;
      if (!terms.empty()) {
        stripped_queries.push_back({ev->category, ev->where, std::move(stripped)});
        use = &stripped_queries.back();
      }
      const aggregate& agg = sources[ri].agg;
      std::vector<eql::expr> group_by;
      if (agg.active()) {
        if (auto e = check_aggregate(agg, !terms.empty(), !q.pipes.empty(), ev->where))
          return unexpected{rule_error{ri, *e}};
        r.kind = detail::rule_kind::aggregate;
        r.agg = agg;
        r.distinct = event::field_path(agg.distinct_field);
        r.max_counted = std::max(agg.min_count, static_cast<std::uint32_t>(std::min<std::size_t>(
                                                    opts.max_pending_per_key, max_counted)));
        for (const auto& f : agg.by)
          group_by.push_back(field_expr(f, ev->where));
      }
      if (auto e = add_step(*use, agg.active() ? &group_by : nullptr, nullptr,
                            detail::role::positive, 0, 1, false))
        return unexpected{*e};
    } else if (auto* sq = std::get_if<eql::sequence_query>(&q.body)) {
      r.kind = detail::rule_kind::sequence;
      r.maxspan = sq->maxspan_ns;
      if (auto e = plan_steps(sq->steps, sq->by, sq->until, true)) return unexpected{*e};
    } else if (auto* jq = std::get_if<eql::join_query>(&q.body)) {
      r.kind = detail::rule_kind::join;
      if (auto e = plan_steps(jq->steps, jq->by, jq->until, false)) return unexpected{*e};
    }
    // Pipes compile here so that errors surface with the rule, not in the engine.
    for (auto& p : r.pipes) {
      for (auto& a : p.args) {
        if ((p.kind == eql::pipe::type::head || p.kind == eql::pipe::type::tail) &&
            a.kind == eql::op::literal)
          continue;
        if (auto e = compile_expr(a, ri, copts); !e) return unexpected{e.error()};
      }
    }
    c->rules.push_back(std::move(r));
  }

  // Choose each step's index: the candidate (field, values) shared by the fewest steps.
  std::vector<std::vector<index_choice>> choices(to_index.size());
  absl::flat_hash_map<std::string, std::size_t> freq;
  auto freq_key = [](const std::string& cat, const index_choice& ch, const std::string& v) {
    return cat + '\0' + ch.path_text + (ch.fold ? "\1" : "\0") + v;
  };
  for (std::size_t i = 0; i < to_index.size(); ++i) {
    choices[i] = index_choices(*to_index[i].cond, opts.case_sensitive);
    for (auto& ch : choices[i])
      for (auto& v : ch.values)
        ++freq[freq_key(to_index[i].category, ch, v)];
  }
  for (std::size_t i = 0; i < to_index.size(); ++i) {
    auto& ti = to_index[i];
    detail::bucket& b = ti.category == "any" ? c->any : c->categories[ti.category];
    const index_choice* best = nullptr;
    std::size_t best_cost = std::numeric_limits<std::size_t>::max();
    for (auto& ch : choices[i]) {
      std::size_t cost = 0;
      for (auto& v : ch.values)
        cost += freq[freq_key(ti.category, ch, v)];
      if (cost < best_cost) {
        best_cost = cost;
        best = &ch;
      }
    }
    if (!best) {
      b.plain.push_back(ti.id);
      continue;
    }
    detail::field_index* fi = nullptr;
    for (auto& f : b.fields)
      if (f.fold == best->fold && f.path.to_string() == best->path.to_string()) fi = &f;
    if (!fi) {
      b.fields.push_back({best->path, best->fold, {}});
      fi = &b.fields.back();
    }
    for (auto& v : best->values) {
      auto& list = fi->by_value[v];
      if (list.empty() || list.back() != ti.id) list.push_back(ti.id);
    }
  }

  std::string text = std::to_string(sources.size()) + '\0' + std::to_string(c->steps.size()) +
                     '\0' + opts.category_field + (opts.case_sensitive ? "\1" : "\2");
  for (const auto& src : sources) {
    text += '\0' + src.id + '\0' + src.language + '\0' + src.query + '\0' + src.also;
    if (const aggregate& a = src.agg; a.active()) { // its group fields are the join key
      text += '\1' + std::to_string(static_cast<int>(a.kind)) + (a.skip_missing ? "s" : "k");
      for (const auto& f : a.by)
        text += '\1' + f;
      text += '\1' + a.distinct_field + '\1' + std::to_string(a.min_count) + '\1' +
              std::to_string(a.min_distinct) + '\1' + std::to_string(a.window_ns) + '\1' +
              std::to_string(a.suppress_ns);
    }
  }
  if (opts.lists) { // inList decides hits: processes with other list contents route otherwise
    auto names = opts.lists->names();
    std::sort(names.begin(), names.end());
    for (const auto& name : names)
      text += '\0' + name + '\0' + std::to_string(opts.lists->find(name)->digest());
  }
  c->fingerprint = XXH3_64bits(text.data(), text.size());
  c->conditions = static_cast<std::uint32_t>(condition_ids.size());
  c->key_lists = static_cast<std::uint32_t>(key_list_ids.size());
  c->field_slots = static_cast<std::uint32_t>(slots.ids.size());
  c->step_flags.reserve(c->steps.size());
  for (const auto& s : c->steps) {
    const auto& r = c->rules[s.rule];
    c->step_flags.push_back(static_cast<std::uint8_t>(
        (r.kind == detail::rule_kind::event ? detail::compiled::step_of_event_rule : 0) |
        (r.pipes.empty() && r.distinct.empty() ? 0 : detail::compiled::step_reads_events)));
  }
  c->sources = std::move(sources);
  std::shared_ptr<ruleset> rs(new ruleset());
  rs->impl_ = std::move(c);
  return std::shared_ptr<const ruleset>(std::move(rs));
}

// ---------------------------------------------------------------------------

router::router(std::shared_ptr<const ruleset> rules) : rules_(std::move(rules)) {
  candidate_bits_.assign((rules_->step_count() + 63) / 64, 0);
  condition_stamp_.assign(rules_->impl().conditions, 0);
  key_list_stamp_.assign(rules_->impl().key_lists, 0);
  key_list_entry_.assign(rules_->impl().key_lists, 0);
  key_list_null_.assign(rules_->impl().key_lists, 0);
  field_values_.assign(rules_->impl().field_slots, {});
  field_stamps_.assign(rules_->impl().field_slots, 0);
  ctx_.field_values = field_values_.data();
  ctx_.field_stamps = field_stamps_.data();
}
router::~router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;

void router::add_candidates(std::span<const step_id> steps) {
  for (step_id s : steps) {
    std::uint64_t& word = candidate_bits_[s >> 6];
    if (word == 0) candidate_words_.push_back(s >> 6);
    word |= std::uint64_t{1} << (s & 63);
  }
}

void router::route(const event::event& ev) {
  const compiled& c = rules_->impl();
  entries_.clear();
  event_rules_.clear();
  candidates_.clear();
  tagged_.clear();
  hits_.clear();
  keys_.clear();
  key_spans_.clear();
  if (++epoch_ == (1u << 31)) { // condition_stamp_ keeps epoch << 1
    std::fill(condition_stamp_.begin(), condition_stamp_.end(), 0);
    std::fill(key_list_stamp_.begin(), key_list_stamp_.end(), 0);
    std::fill(field_stamps_.begin(), field_stamps_.end(), 0);
    epoch_ = 1;
  }
  ctx_.field_epoch = epoch_; // field reads of this event: memoized by slot

  std::string& scratch = keys_; // reused as lookup buffer before keys are built
  auto visit_bucket = [&](const detail::bucket& b) {
    add_candidates(b.plain);
    for (auto& fi : b.fields) {
      auto v = ev.get(fi.path);
      if (!v.exists()) continue;
      auto lookup = [&](event::value_ref r) {
        scratch.clear();
        if (!detail::append_index_value(scratch, eql::value::from(r), fi.fold)) return;
        auto it = fi.by_value.find(detail::av(scratch));
        if (it != fi.by_value.end()) add_candidates(it->second);
      };
      if (v.type() == event::kind::array) {
        for (auto ch = v.first_child(); ch.exists(); ch = ch.next_sibling())
          lookup(ch);
      } else {
        lookup(v);
      }
    }
  };
  if (!c.categories.empty()) {
    auto cat = ev.get(c.category);
    auto visit_category = [&](event::value_ref r) {
      if (r.type() != event::kind::string) return;
      auto it = c.categories.find(detail::av(r.as_string()));
      if (it != c.categories.end()) visit_bucket(it->second);
    };
    if (cat.exists()) {
      if (cat.type() == event::kind::array) {
        for (auto ch = cat.first_child(); ch.exists(); ch = ch.next_sibling())
          visit_category(ch);
      } else {
        visit_category(cat);
      }
    }
  }
  visit_bucket(c.any);
  if (candidate_words_.empty()) return;
  // Steps in id order (rule order): the words in order, each word's bits from the lowest.
  std::sort(candidate_words_.begin(), candidate_words_.end());
  for (std::uint32_t w : candidate_words_) {
    for (std::uint64_t bits = std::exchange(candidate_bits_[w], 0); bits != 0; bits &= bits - 1)
      candidates_.push_back(static_cast<step_id>(w * 64 + std::countr_zero(bits)));
  }
  candidate_words_.clear();
  keys_.clear();

  const bool fold = !c.opts.case_sensitive;
  for (step_id id : candidates_) {
    const detail::step& s = c.steps[id];
    // A condition's value is stamped with the epoch: condition_stamp_ holds epoch * 2 + value.
    std::uint32_t& memo = condition_stamp_[s.condition_id];
    if ((memo >> 1) != epoch_) {
      ctx_.current = &ev;
      ctx_.sequence = {};
      ++evaluations_;
      memo = (epoch_ << 1) | (s.condition.test(ctx_) ? 1u : 0u);
    }
    if (!(memo & 1u)) continue;
    const detail::rule& r = c.rules[s.rule];
    if (r.kind == detail::rule_kind::event) {
      event_rules_.push_back(s.rule);
      continue;
    }
    // Aggregates skip events missing a group field (threshold, new_terms).
    const bool skip_null = r.kind == detail::rule_kind::aggregate && r.agg.skip_missing;
    constexpr std::uint32_t unregistered = ~0u; // a key with a null value nobody took yet
    std::uint32_t entry = 0;
    if (key_list_stamp_[s.keys_id] == epoch_ &&
        (key_list_entry_[s.keys_id] != unregistered || skip_null)) {
      if (skip_null && key_list_null_[s.keys_id]) continue;
      entry = key_list_entry_[s.keys_id];
    } else {
      std::size_t start = keys_.size();
      bool has_null = false;
      keys_.push_back('[');
      for (std::size_t k = 0; k < s.keys.size(); ++k) {
        if (k) keys_.push_back(',');
        ctx_.current = &ev;
        eql::value v = s.keys[k].eval(ctx_);
        has_null = has_null || v.t == eql::value::type::null;
        detail::append_key_value(keys_, v, fold);
      }
      keys_.push_back(']');
      key_list_stamp_[s.keys_id] = epoch_;
      key_list_null_[s.keys_id] = has_null;
      if (skip_null && has_null) {
        keys_.resize(start);
        key_list_entry_[s.keys_id] = unregistered;
        continue;
      }
      std::string_view text(keys_.data() + start, keys_.size() - start);
      for (; entry < key_spans_.size(); ++entry) {
        auto [b, n] = key_spans_[entry];
        if (std::string_view(keys_.data() + b, n) == text) break;
      }
      if (entry == key_spans_.size()) {
        key_spans_.emplace_back(start, text.size());
      } else {
        keys_.resize(start);
      }
      key_list_entry_[s.keys_id] = entry;
    }
    for (std::uint32_t g = 0; g < s.group; ++g)
      tagged_.emplace_back(entry, id + g);
  }
  for (std::uint32_t e = 0; e < key_spans_.size(); ++e) {
    std::size_t first = hits_.size();
    for (auto& [entry, id] : tagged_)
      if (entry == e) hits_.push_back(id);
    std::string_view key(keys_.data() + key_spans_[e].first, key_spans_[e].second);
    entries_.push_back({key, XXH3_64bits(key.data(), key.size()),
                        std::span<const step_id>(hits_.data() + first, hits_.size() - first)});
  }
  // hits_ may have grown after spans were taken: rebuild them over the final buffer.
  std::size_t off = 0;
  for (auto& e : entries_) {
    e.hits = std::span<const step_id>(hits_.data() + off, e.hits.size());
    off += e.hits.size();
  }
}

} // namespace chainwatch::engine
