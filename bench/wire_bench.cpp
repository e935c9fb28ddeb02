// libs/wire: encode/decode of a partition batch (1000 events of 500 bytes + a marker), and the
// batcher's per-item cost.

#include "chainwatch/wire/batcher.hpp"
#include "chainwatch/wire/messages.hpp"
#include "chainwatch/wire/partition.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace chainwatch::wire;

partition_batch make_batch(int events, std::size_t blob) {
  partition_batch pb{3, {}};
  for (int i = 0; i < events; ++i) {
    std::string key = "host-" + std::to_string(i % 50);
    pb.items.emplace_back(partition_event{"acme",
                                          key_hash("acme", key),
                                          key,
                                          1'700'000'000'000'000'000 + i,
                                          1'700'000'000'000'000'000,
                                          std::string(blob, 'e'),
                                          0,
                                          {}});
  }
  pb.items.emplace_back(watermark_marker{"acme", 1});
  return pb;
}

void bm_encode_partition_batch(benchmark::State& state) {
  auto pb = make_batch(1000, static_cast<std::size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    append(out, pb);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(bm_encode_partition_batch)->Arg(100)->Arg(500);

void bm_decode_partition_batch(benchmark::State& state) {
  auto bytes = encode(make_batch(1000, static_cast<std::size_t>(state.range(0))));
  for (auto _ : state) {
    auto pb = decode_partition_batch(bytes);
    benchmark::DoNotOptimize(pb.has_value());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(bm_decode_partition_batch)->Arg(100)->Arg(500);

void bm_key_hash(benchmark::State& state) {
  std::string key = "0f3c2b1a-host-id-abcdef";
  for (auto _ : state)
    benchmark::DoNotOptimize(partition_of(key_hash("acme", key), 16));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_key_hash);

void bm_batcher_add(benchmark::State& state) {
  batcher<int> b;
  std::int64_t now = 0;
  for (auto _ : state) {
    if (b.add(1, 600, ++now) != flush_reason::none || b.poll(now) != flush_reason::none) b.clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_batcher_add);

} // namespace

BENCHMARK_MAIN();
