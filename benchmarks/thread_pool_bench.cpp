// SPDX-License-Identifier: Apache-2.0
// Fork-join latency of model::thread_pool: one decode step runs ~140-200 parallel regions, so
// the empty-region cost times that is the pool's overhead per token.
//   build/bin/bench_thread_pool
#include <benchmark/benchmark.h>

#include <atomic>
#include <edgecloud/model/thread_pool.hpp>

namespace {

void BM_EmptyRegion(benchmark::State& state) {
  edgecloud::model::thread_pool pool(static_cast<size_t>(state.range(0)));
  std::atomic<size_t> sink{0};
  const size_t tasks = static_cast<size_t>(state.range(0));
  for (auto _ : state)
    pool.run(tasks, [&](size_t t, size_t) { sink.fetch_add(t, std::memory_order_relaxed); });
  benchmark::DoNotOptimize(sink.load());
}
BENCHMARK(BM_EmptyRegion)->Arg(1)->Arg(2)->UseRealTime();

void BM_ParallelForSmallWork(benchmark::State& state) {
  edgecloud::model::thread_pool pool(static_cast<size_t>(state.range(0)));
  std::vector<float> v(4096, 1.0f);
  for (auto _ : state) {
    pool.parallel_for(
        v.size(),
        [&](size_t b, size_t e, size_t) {
          for (size_t i = b; i < e; ++i) v[i] = v[i] * 0.999f + 0.001f;
        },
        16);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ParallelForSmallWork)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
