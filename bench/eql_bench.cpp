// Cost of evaluating typical compiled EQL predicates over one decoded ECS event.

#include <benchmark/benchmark.h>
#include <chainwatch/eql/ast.hpp>
#include <chainwatch/eql/compile.hpp>
#include <chainwatch/event/event.hpp>
#include <cstdlib>

namespace {

using namespace chainwatch;

const char* ecs_event = R"({"@timestamp":"2020-10-22T08:29:55Z",
  "event":{"category":"authentication","outcome":"failure","code":"4625","kind":"event"},
  "host":{"name":"WORKSTATION5","os":{"family":"windows"}},
  "user":{"name":"pgustavo","domain":"THESHIRE"},
  "source":{"ip":"172.18.39.5","port":52178},
  "process":{"name":"powershell.exe","executable":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "command_line":"powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
    "pid":4242,"parent":{"name":"cmd.exe"}}})";

const event::event& sample_event() {
  static const event::event ev = [] {
    event::json_decoder d;
    auto e = d.decode(ecs_event);
    if (!e) std::abort();
    return std::move(*e);
  }();
  return ev;
}

void run(benchmark::State& state, const char* text) {
  auto ast = eql::parse_expression(text);
  if (!ast) {
    state.SkipWithError(ast.error().message.c_str());
    return;
  }
  auto compiled = eql::compile(*ast, {});
  if (!compiled) {
    state.SkipWithError(compiled.error().message.c_str());
    return;
  }
  eql::eval_context ctx;
  ctx.current = &sample_event();
  std::size_t hits = 0;
  for (auto _ : state)
    hits += compiled->test(ctx);
  benchmark::DoNotOptimize(hits);
  state.counters["matched"] = static_cast<double>(hits != 0);
}

void bm_two_field_compare(benchmark::State& s) {
  run(s, R"(event.category == "authentication" and event.outcome == "failure")");
}
void bm_wildcard(benchmark::State& s) {
  run(s, R"(process.executable == "*\\powershell.exe")");
}
void bm_wildcard_general(benchmark::State& s) {
  run(s, R"(process.command_line : "*-nop*-enc *")");
}
void bm_in_20_strings(benchmark::State& s) {
  run(s, R"(process.name in ("cmd.exe", "wscript.exe", "cscript.exe", "mshta.exe", "rundll32.exe",
    "regsvr32.exe", "certutil.exe", "bitsadmin.exe", "msbuild.exe", "installutil.exe",
    "regasm.exe", "regsvcs.exe", "msiexec.exe", "wmic.exe", "schtasks.exe", "at.exe",
    "sc.exe", "net.exe", "net1.exe", "powershell.exe"))");
}
void bm_regex(benchmark::State& s) {
  run(s, R"(process.command_line regex~ ".*-(e|enc|encodedcommand) [A-Za-z0-9+/=]{16,}.*")");
}
void bm_cidr(benchmark::State& s) {
  run(s, R"(cidrMatch(source.ip, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))");
}
void bm_missing_field(benchmark::State& s) {
  run(s, R"(file.hash.sha256 == "abc")");
}

BENCHMARK(bm_two_field_compare);
BENCHMARK(bm_wildcard);
BENCHMARK(bm_wildcard_general);
BENCHMARK(bm_in_20_strings);
BENCHMARK(bm_regex);
BENCHMARK(bm_cidr);
BENCHMARK(bm_missing_field);

} // namespace

BENCHMARK_MAIN();
