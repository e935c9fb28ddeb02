#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/event/event.hpp>
#include <gtest/gtest.h>
#include <string>

namespace chainwatch::eql {
namespace {

std::string show(const value& v) {
  switch (v.t) {
  case value::type::null:
    return "null";
  case value::type::boolean:
    return v.b ? "true" : "false";
  case value::type::integer:
    return std::to_string(v.i);
  case value::type::real: {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v.d);
    return std::string(buf) + "r";
  }
  case value::type::string:
    return "'" + std::string(v.s) + "'";
  default:
    return "container";
  }
}

const char* sample = R"({"name":"Explorer.EXE","path":"C:\\Windows\\System32\\cmd.exe",
  "ip":"10.6.48.157","ip6":"2001:db8::1","ips":["192.168.1.1","8.8.8.8"],"n":5,
  "list":["en-US","en"],"objs":[{"a":"s0","c":[{"z":"x0"},{"z":"x1"}],"cross":"x1"},
  {"a":"s1","c":[]}],"outer":"x0"})";

struct fixture {
  event::event ev;
  list_registry lists;
  fixture() {
    event::json_decoder d;
    auto e = d.decode(sample);
    EXPECT_TRUE(e.has_value());
    if (e.has_value()) ev = std::move(*e);
    auto l = lookup_list::parse("bad_ips", list_kind::ips, "8.8.8.0/24\n");
    EXPECT_TRUE(l.has_value());
    if (l.has_value()) lists.add(std::move(*l));
  }
};

std::string eval(std::string_view text, bool case_sensitive = false) {
  static const fixture fx;
  auto ast = parse_expression(text);
  if (!ast) return "parse error: " + ast.error().message;
  compile_options o;
  o.case_sensitive = case_sensitive;
  o.lists = &fx.lists;
  auto c = compile(*ast, o);
  if (!c) return "compile error: " + c.error().message;
  eval_context ctx;
  ctx.current = &fx.ev;
  return show(c->eval(ctx));
}

TEST(functions, math) {
  EXPECT_EQ(eval("add(n, 1)"), "6");
  EXPECT_EQ(eval("add(n, 0.5)"), "5.5r");
  EXPECT_EQ(eval("add(null, 1)"), "null");
  EXPECT_EQ(eval("subtract(n, -5)"), "10");
  EXPECT_EQ(eval("multiply(6, n)"), "30");
  EXPECT_EQ(eval("divide(30, 4.0)"), "7.5r");
  EXPECT_EQ(eval("divide(30, 4)"), "7");
  EXPECT_EQ(eval("divide(30, 0)"), "null");
  EXPECT_EQ(eval("modulo(11, 6)"), "5");
  EXPECT_EQ(eval("safe(divide(name, name))"), "null");
}

TEST(functions, strings) {
  EXPECT_EQ(eval("length(name)"), "12");
  EXPECT_EQ(eval("length(list)"), "2");
  EXPECT_EQ(eval("length(missing)"), "null");
  EXPECT_EQ(eval("startsWith(name, \"explorer.\")"), "true");
  EXPECT_EQ(eval("startsWith(name, \"explorer.\")", true), "false");
  EXPECT_EQ(eval("startsWith~(name, \"explorer.\")", true), "true");
  EXPECT_EQ(eval("endsWith(name, \".exe\")"), "true");
  EXPECT_EQ(eval("stringContains(name, \"LORER\")"), "true");
  EXPECT_EQ(eval("indexOf(name, \"plore\")"), "2");
  EXPECT_EQ(eval("indexOf(name, \"plore\", 3)"), "null");
  EXPECT_EQ(eval("indexOf(name, \"plore\", 100)"), "null");
  EXPECT_EQ(eval("indexOf(name, \".pf\")"), "null");
  EXPECT_EQ(eval("substring(name, 0, 4)"), "'Expl'");
  EXPECT_EQ(eval("substring(name, -4)"), "'.EXE'");
  EXPECT_EQ(eval("substring(name, -4, -1)"), "'.EX'");
  EXPECT_EQ(eval("substring(name, 5, 2)"), "''");
  EXPECT_EQ(eval("between(path, \"system32\\\\\", \".exe\")"), "'cmd'");
  EXPECT_EQ(eval("between(path, \"system32\\\\\", \".exe\")", true), "''");
  EXPECT_EQ(eval("between(path, \"\\\\\", \"\\\\\", true)"), "'Windows\\System32'");
  EXPECT_EQ(eval("concat(n, \":\", name)"), "'5:Explorer.EXE'");
  EXPECT_EQ(eval("concat(n, missing)"), "null");
  EXPECT_EQ(eval("string(n)"), "'5'");
  EXPECT_EQ(eval("number(\"5\")"), "5");
  EXPECT_EQ(eval("number(\"0x32\", 16)"), "50");
  EXPECT_EQ(eval("number(\"32\", 16)"), "50");
  EXPECT_EQ(eval("number(\"2.5\")"), "2.5r");
  EXPECT_EQ(eval("number(\"abc\")"), "null");
}

TEST(functions, matching) {
  EXPECT_EQ(eval("wildcard(name, \"*.exe\", \"x\")"), "true");
  EXPECT_EQ(eval("wildcard(name, \"*.exe\")", true), "false");
  EXPECT_EQ(eval("match(path, \".*System32.*\")"), "true");
  EXPECT_EQ(eval("matchLite(path, \"C:.*?cmd\")"), "true"); // anchored at the start only
  EXPECT_EQ(eval("match(path, \"cmd\")"), "false");
}

TEST(functions, cidr_and_lists) {
  EXPECT_EQ(eval("cidrMatch(ip, \"10.6.48.157/8\")"), "true");
  EXPECT_EQ(eval("cidrMatch(ip, \"192.168.0.0/16\")"), "false");
  EXPECT_EQ(eval("cidrMatch(ip, \"192.168.0.0/16\", \"10.0.0.0/8\")"), "true");
  EXPECT_EQ(eval("cidrMatch(ip, \"0.0.0.0/0\")"), "true");
  EXPECT_EQ(eval("cidrMatch(ip6, \"2001:db8::/32\")"), "true");
  EXPECT_EQ(eval("cidrMatch(ip6, \"2001:db9::/32\")"), "false");
  EXPECT_EQ(eval("cidrMatch(ip6, \"10.0.0.0/8\")"), "false");
  EXPECT_EQ(eval("cidrMatch(ips, \"8.8.0.0/16\")"), "true");
  EXPECT_EQ(eval("cidrMatch(missing, \"8.8.0.0/16\")"), "null");
  EXPECT_EQ(eval("inList(ips, \"bad_ips\")"), "true");
  EXPECT_EQ(eval("inList(ip, \"bad_ips\")"), "false");
}

TEST(functions, arrays) {
  EXPECT_EQ(eval("arrayContains(list, \"EN-us\")"), "true");
  EXPECT_EQ(eval("arrayContains(list, \"EN-us\")", true), "false");
  EXPECT_EQ(eval("arrayContains(list, \"missing\", \"en\")"), "true");
  EXPECT_EQ(eval("arraySearch(list, a, a == \"en-US\")", true), "true");
  EXPECT_EQ(eval("arraySearch(list, a, endsWith(a, \"-us\"))"), "true");
  EXPECT_EQ(eval("arrayCount(list, s, s == \"*en*\")"), "2");
  EXPECT_EQ(eval("arraySearch(objs, s, s.a == \"s1\")"), "true");
  EXPECT_EQ(eval("arraySearch(objs, s, false)"), "false");
  EXPECT_EQ(eval("arraySearch(objs, o, arraySearch(o.c, c, c.z == o.cross))"), "true");
  EXPECT_EQ(eval("arraySearch(objs, o, arraySearch(o.c, c, c.z == outer))"), "true");
  EXPECT_EQ(eval("arraySearch(missing, o, true)"), "null");
}

} // namespace
} // namespace chainwatch::eql
