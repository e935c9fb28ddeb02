// Checks that evaluating compiled expressions does not touch the heap once warm.

#include <atomic>
#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/event/event.hpp>
#include <cstdlib>
#include <gtest/gtest.h>
#include <memory>
#include <new>
#include <string>

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
} // namespace

// AddressSanitizer owns operator new; replacing it there trips its mismatch checks.
#if !defined(__SANITIZE_ADDRESS__)
#define CHAINWATCH_COUNT_ALLOCATIONS 1
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

namespace chainwatch::eql {
namespace {

TEST(compile_alloc, evaluation_does_not_allocate_when_warm) {
#if !defined(CHAINWATCH_COUNT_ALLOCATIONS)
  GTEST_SKIP() << "allocation counting is disabled under AddressSanitizer";
#endif
  event::json_decoder d;
  auto ev = d.decode(R"({"event":{"category":["authentication"],"outcome":"failure"},
    "process":{"name":"powershell.exe","command_line":"powershell -nop -enc AAAA","pid":7},
    "source":{"ip":"10.1.2.3"},"tags":["a","b"]})");
  ASSERT_TRUE(ev.has_value());
  const char* queries[] = {
      R"(event.category == "authentication" and event.outcome == "failure")",
      R"(process.name == "*shell.exe" or process.command_line : "*-nop*-enc *")",
      R"(process.name in ("a", "b", "c", "d", "e", "f", "POWERSHELL.EXE"))",
      R"(process.command_line regex~ ".*-enc.*")",
      R"(cidrMatch(source.ip, "10.0.0.0/8", "::1/128"))",
      R"(process.pid * 3 + 1 > 20 and missing.field == null)",
      R"(concat(process.name, ":", process.pid) == "powershell.exe:7")",
      R"(arraySearch(tags, t, t == "b") and substring(process.name, -4) == ".exe")",
      R"(string(process.pid) == "7" and length(process.name) == 14)",
  };
  // Self-check: the counter sees allocations.
  counting = true;
  auto probe = std::make_unique<std::string>(100, 'x');
  counting = false;
  ASSERT_GT(allocations.load(), 0);
  for (const char* q : queries) {
    auto ast = parse_expression(q);
    ASSERT_TRUE(ast) << q;
    auto c = compile(*ast, {});
    ASSERT_TRUE(c) << q;
    eval_context ctx;
    ctx.current = &*ev;
    EXPECT_TRUE(c->test(ctx)) << q; // warm-up: may grow the scratch
    allocations = 0;
    counting = true;
    bool all = true;
    for (int i = 0; i < 100; ++i)
      all &= c->test(ctx);
    counting = false;
    EXPECT_TRUE(all) << q;
    EXPECT_EQ(allocations.load(), 0) << q;
  }
}

} // namespace
} // namespace chainwatch::eql
