#include "text_util.hpp"

#include <chainwatch/eql/compile.hpp>

namespace chainwatch::eql {

value value::from(event::value_ref v) {
  if (!v.exists()) return {};
  switch (v.type()) {
  case event::kind::null:
    return {};
  case event::kind::boolean:
    return boolean(v.as_bool());
  case event::kind::integer:
    return integer(v.as_int());
  case event::kind::real:
    return real(v.as_double());
  case event::kind::string:
    return string(v.as_string());
  case event::kind::array: {
    value r;
    r.t = type::array;
    r.ref = v;
    return r;
  }
  case event::kind::object: {
    value r;
    r.t = type::object;
    r.ref = v;
    return r;
  }
  }
  return {};
}

std::string_view eval_context::keep(std::string s) {
  // Reuses slots (and their capacity) so steady-state evaluation does not allocate.
  if (scratch_used < scratch.size()) {
    auto& slot = scratch[scratch_used++];
    slot.assign(s);
    return slot;
  }
  scratch.push_back(std::move(s));
  ++scratch_used;
  return scratch.back();
}

bool values_equal(const value& a, const value& b, bool case_sensitive) noexcept {
  using t = value::type;
  if (a.t == t::null || b.t == t::null) return a.t == b.t;
  if (a.t == t::integer && b.t == t::integer) return a.i == b.i;
  if ((a.t == t::integer || a.t == t::real) && (b.t == t::integer || b.t == t::real)) {
    double x = a.t == t::integer ? static_cast<double>(a.i) : a.d;
    double y = b.t == t::integer ? static_cast<double>(b.i) : b.d;
    return x == y;
  }
  if (a.t != b.t) return false;
  switch (a.t) {
  case t::boolean:
    return a.b == b.b;
  case t::string:
    return case_sensitive ? a.s == b.s : iequals(a.s, b.s);
  case t::array:
  case t::object:
    return a.ref.owner() == b.ref.owner() && a.ref.index() == b.ref.index();
  default:
    return false;
  }
}

} // namespace chainwatch::eql
