// Event model benchmarks: JSON decode/encode, field_path lookup, msgpack.
// Run: build/bin/event_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>
#include <chainwatch/event/event.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ev = chainwatch::event;

namespace {

// A Sysmon-style process creation event rendered by Winlogbeat (~500 bytes).
const std::string windows_event =
    R"({"@timestamp":"2020-10-22T08:29:48.785Z","event":{"code":1,"kind":"event","category":["process"],)"
    R"("type":["start"],"provider":"Microsoft-Windows-Sysmon"},"host":{"name":"WORKSTATION5.theshire.local"},)"
    R"("process":{"pid":4242,"entity_id":"{b8f8e1a2-6d2c-5f91-0000-0010a3c81a00}","name":"powershell.exe",)"
    R"("executable":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",)"
    R"("command_line":"powershell.exe -nop -w hidden -enc SQBFAFgA","args":["powershell.exe","-nop","-w","hidden"],)"
    R"("parent":{"pid":3120,"name":"cmd.exe"}},"user":{"name":"pgustavo","domain":"THESHIRE"},"winlog":{"record_id":537111}})";

// A Zeek conn record in its dotted-key JSON spelling.
const std::string zeek_event =
    R"({"ts":1663683561.702855,"uid":"Cwtxtq4rKuveCASE9b","id.orig_h":"10.0.83.193","id.orig_p":33728,)"
    R"("id.resp_h":"172.16.1.49","id.resp_p":22,"proto":"tcp","service":"ssh","duration":0.123456,)"
    R"("orig_bytes":1024,"resp_bytes":2048,"conn_state":"SF","local_orig":true,"local_resp":true,)"
    R"("missed_bytes":0,"history":"ShADadFf","orig_pkts":12,"orig_ip_bytes":1660,"resp_pkts":10,)"
    R"("resp_ip_bytes":2580,"tunnel_parents":[]})";

void decode_json(benchmark::State& state, const std::string& text) {
  ev::json_decoder d;
  for (auto _ : state) {
    auto e = d.decode(text);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["doc_bytes"] = static_cast<double>(text.size());
}

void BM_decode_json_windows(benchmark::State& state) {
  decode_json(state, windows_event);
}
BENCHMARK(BM_decode_json_windows);

void BM_decode_json_zeek(benchmark::State& state) {
  decode_json(state, zeek_event);
}
BENCHMARK(BM_decode_json_zeek);

// Real NXLog Windows events (larger, with long Message texts), when the data is present.
void BM_decode_json_purplesharp(benchmark::State& state) {
  static std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    std::ifstream in(std::filesystem::path(CHAINWATCH_SHARED_DATA) / "windows" /
                     "purplesharp_ad_playbook_I.json");
    std::string line;
    while (out.size() < 1000 && std::getline(in, line))
      if (!line.empty()) out.push_back(line);
    return out;
  }();
  if (lines.empty()) {
    state.SkipWithError("shared data not found");
    return;
  }
  ev::json_decoder d;
  std::size_t i = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& text = lines[i];
    i = i + 1 == lines.size() ? 0 : i + 1;
    auto e = d.decode(text);
    benchmark::DoNotOptimize(e);
    bytes += static_cast<std::int64_t>(text.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_decode_json_purplesharp);

void BM_encode_json_windows(benchmark::State& state) {
  ev::json_decoder d;
  const ev::event e = *d.decode(windows_event);
  std::string out;
  for (auto _ : state) {
    out.clear();
    ev::append_json(out, e.root());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_encode_json_windows);

void lookup(benchmark::State& state, const std::string& text,
            const std::vector<std::string>& paths) {
  ev::json_decoder d;
  const ev::event e = *d.decode(text);
  std::vector<ev::field_path> compiled;
  for (const auto& p : paths)
    compiled.emplace_back(p);
  for (auto _ : state) {
    for (const auto& p : compiled) {
      auto v = e.get(p);
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(compiled.size()));
}

void BM_field_path_nested(benchmark::State& state) {
  lookup(state, windows_event,
         {"process.name", "process.parent.name", "user.name", "event.code", "process.args[-1]",
          "winlog.record_id", "host.name", "process.missing"});
}
BENCHMARK(BM_field_path_nested);

void BM_field_path_flat(benchmark::State& state) {
  lookup(state, zeek_event, {"id.orig_h", "id.resp_p", "conn_state", "history"});
}
BENCHMARK(BM_field_path_flat);

void BM_msgpack_encode_windows(benchmark::State& state) {
  ev::json_decoder d;
  const ev::event e = *d.decode(windows_event);
  std::string out;
  for (auto _ : state) {
    out.clear();
    ev::append_msgpack(out, e);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_msgpack_encode_windows);

void BM_msgpack_decode_windows(benchmark::State& state) {
  ev::json_decoder d;
  const ev::event e = *d.decode(windows_event);
  std::string bytes;
  ev::append_msgpack(bytes, e);
  for (auto _ : state) {
    auto back = ev::from_msgpack(bytes);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_msgpack_decode_windows);

void BM_event_copy(benchmark::State& state) {
  ev::json_decoder d;
  const ev::event e = *d.decode(windows_event);
  for (auto _ : state) {
    ev::event copy = e;
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_event_copy);

} // namespace

BENCHMARK_MAIN();
