#include <chainwatch/eql/lists.hpp>
#include <gtest/gtest.h>

namespace chainwatch::eql {
namespace {

TEST(lists, strings_are_case_insensitive) {
  auto l = lookup_list::parse("users", list_kind::strings, "# admins\nAdmin\n\n  root  \n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->size(), 2u);
  EXPECT_TRUE(l->contains("admin"));
  EXPECT_TRUE(l->contains("ROOT"));
  EXPECT_FALSE(l->contains("guest"));
}

TEST(lists, hashes_reject_non_hex) {
  auto l = lookup_list::parse("md5", list_kind::hashes, "63D3C30B497347495B8EA78A38188969\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->contains("63d3c30b497347495b8ea78a38188969"));
  auto bad = lookup_list::parse("md5", list_kind::hashes, "abc\nxyz # nope\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find(":2:"), std::string::npos);
}

TEST(lists, domains_match_parents) {
  auto l = lookup_list::parse("bad", list_kind::domains, "Evil.com.\nexact.example.org\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->contains("evil.com"));
  EXPECT_TRUE(l->contains("a.b.EVIL.com."));
  EXPECT_FALSE(l->contains("notevil.com"));
  EXPECT_FALSE(l->contains("example.org"));
  EXPECT_TRUE(l->contains("x.exact.example.org"));
  EXPECT_FALSE(l->contains(""));
}

TEST(lists, ips_and_cidrs) {
  auto l =
      lookup_list::parse("nets", list_kind::ips, "10.0.0.0/8\n192.168.1.7\n2001:db8::/32\n::1\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->size(), 4u);
  EXPECT_TRUE(l->contains("10.200.3.4"));
  EXPECT_TRUE(l->contains("192.168.1.7"));
  EXPECT_FALSE(l->contains("192.168.1.8"));
  EXPECT_TRUE(l->contains("2001:db8:ffff::5"));
  EXPECT_TRUE(l->contains("::1"));
  EXPECT_FALSE(l->contains("2001:db9::1"));
  EXPECT_FALSE(l->contains("not an ip"));
  auto bad = lookup_list::parse("nets", list_kind::ips, "10.0.0.0/8\n10.0.0.0/40\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find(":2:"), std::string::npos);
}

TEST(lists, registry_and_kinds) {
  list_registry r;
  auto l = lookup_list::parse("a", list_kind::strings, "x\n");
  ASSERT_TRUE(l.has_value());
  r.add(std::move(*l));
  ASSERT_NE(r.find("a"), nullptr);
  EXPECT_EQ(r.find("b"), nullptr);
  EXPECT_EQ(r.names().size(), 1u);
  EXPECT_TRUE(parse_list_kind("domains").has_value());
  EXPECT_FALSE(parse_list_kind("nope").has_value());
}

} // namespace
} // namespace chainwatch::eql
