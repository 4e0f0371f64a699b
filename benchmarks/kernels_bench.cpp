// SPDX-License-Identifier: Apache-2.0
// Kernel micro-benchmarks at Qwen3-0.6B shapes, once per ISA table this CPU runs (the scalar
// "generic" reference is the baseline). Single-threaded: the model splits rows over threads.
//   matvec (decode): bytes_per_second = weight bytes streamed; the roofline is memory bandwidth.
//   matmul (prefill, 128 tokens): GOPS = 2 * rows * n * m / time (multiply + add).
// Run: build/bin/bench_kernels [--benchmark_filter=q8_0] ; EDGECLOUD_ISA does not matter here.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "edgecloud/kernels.hpp"

namespace k = edgecloud::kernels;

namespace {

struct shape {
  const char* name;
  size_t n, rows;
};
// hidden 1024, 16 q heads / 8 kv heads of 128, FFN 3072
constexpr shape shapes[] = {{"q_proj", 1024, 2048},
                            {"kv_proj", 1024, 1024},
                            {"o_proj", 2048, 1024},
                            {"gate_up", 1024, 3072},
                            {"down", 3072, 1024}};

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<unsigned char> make_weights(k::dtype t, size_t rows, size_t n) {
  const auto values = random_floats(rows * n, 1);
  std::vector<unsigned char> w(rows * k::row_bytes(t, n));
  for (size_t r = 0; r < rows; ++r) {
    unsigned char* row = w.data() + r * k::row_bytes(t, n);
    const float* src = values.data() + r * n;
    for (size_t i = 0; i < n; ++i) {
      if (t == k::dtype::f16) reinterpret_cast<uint16_t*>(row)[i] = k::fp32_to_fp16(src[i]);
      if (t == k::dtype::bf16) reinterpret_cast<uint16_t*>(row)[i] = k::fp32_to_bf16(src[i]);
    }
    if (t == k::dtype::f32) std::memcpy(row, src, n * 4);
    if (t == k::dtype::q8_0)
      k::reference::quantize_row_q8_0(src, reinterpret_cast<k::block_q8_0*>(row), n);
  }
  return w;
}

void bench_matmul(benchmark::State& state, const k::kernel_table* table, k::dtype t, shape s,
                  size_t m) {
  const auto W = make_weights(t, s.rows, s.n);
  const auto X = random_floats(m * s.n, 2);
  std::vector<k::block_q8_0> Xq(m * s.n / 32);
  k::reference::quantize_row_q8_0(X.data(), Xq.data(), m * s.n);
  std::vector<float> Y(m * s.rows);
  for (auto _ : state) {
    if (m == 1) {
      table->matvec(t, W.data(), s.n, X.data(), Xq.data(), Y.data(), 0, s.rows);
    } else {
      table->matmul(t, W.data(), s.n, m, X.data(), Xq.data(), Y.data(), s.rows, 0, s.rows);
    }
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(W.size()));
  state.counters["GOPS"] =
      benchmark::Counter(2.0 * double(s.rows * s.n * m) * double(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate);
}

void bench_small(benchmark::State& state, const k::kernel_table* table, int which) {
  auto x = random_floats(4096, 3), w = random_floats(4096, 4), y = x;
  const auto kf = random_floats(512 * 1024, 5);
  std::vector<float> scores(512), out(128);
  for (auto _ : state) {
    switch (which) {
      case 0:
        table->rmsnorm(x.data(), w.data(), y.data(), 1024, 1e-6f);
        break;
      case 1:
        table->rope_neox(y.data(), 16, 128, 1234, 1e6f);
        break;
      case 2:
        y = x;
        table->softmax(y.data(), 4096);
        break;
      case 3:
        table->silu_mul(x.data(), w.data(), y.data(), 3072);
        break;
      case 4:
        table->attention_head(x.data(), kf.data(), kf.data() + 128, k::dtype::f32, 1024, 512, 128,
                              0.088f, scores.data(), out.data());
        break;
      case 5:
        table->quantize_row_q8_0(x.data(), reinterpret_cast<k::block_q8_0*>(y.data()), 3072);
        break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(out.data());
  }
}

// One decode token's worth of Q8_0 weight streaming for Qwen3-0.6B: 28 layers of q/k/v/o/gate/
// up/down plus the tied 151936 x 1024 output matrix, ~632 MB, far beyond any cache. Rows of
// every matrix are split over `threads` threads (as the model's pool does), so the rate is the
// memory roofline a decode step can reach; tokens/s ~= rate / 632 MB.
struct decode_weights {
  struct matrix {
    size_t n, rows;
    std::vector<k::block_q8_0> blocks;
  };
  std::vector<matrix> matrices;
  size_t bytes = 0;
  decode_weights() {
    std::mt19937 gen(9);
    auto add = [&](size_t n, size_t rows) {
      matrix m{n, rows, std::vector<k::block_q8_0>(rows * n / 32)};
      for (auto& b : m.blocks) {
        b.d = k::fp32_to_fp16(0.01f);
        for (auto& q : b.qs) q = static_cast<int8_t>(gen() % 255 - 127);
      }
      bytes += m.blocks.size() * sizeof(k::block_q8_0);
      matrices.push_back(std::move(m));
    };
    for (int layer = 0; layer < 28; ++layer) {
      add(1024, 2048), add(1024, 1024), add(1024, 1024), add(2048, 1024);
      add(1024, 3072), add(1024, 3072), add(3072, 1024);
    }
    add(1024, 151936);
  }
};

void bench_decode_sweep(benchmark::State& state, const k::kernel_table* table, int threads) {
  static const decode_weights weights;
  const auto x = random_floats(3072, 6);
  std::vector<k::block_q8_0> xq(3072 / 32);
  k::reference::quantize_row_q8_0(x.data(), xq.data(), 3072);
  std::vector<float> y(151936);
  auto run = [&](int part) {
    for (const auto& m : weights.matrices) {
      const size_t r0 = m.rows * part / threads, r1 = m.rows * (part + 1) / threads;
      table->matvec(k::dtype::q8_0, m.blocks.data(), m.n, nullptr, xq.data(), y.data(), r0, r1);
    }
  };
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (int p = 1; p < threads; ++p) pool.emplace_back(run, p);
    run(0);
    for (auto& t : pool) t.join();
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(weights.bytes));
  state.counters["tok/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}

// Registered from main(): the arch units register their tables during static initialisation,
// whose order relative to this file's is unspecified.
void register_benchmarks() {
  for (const k::kernel_table* table : k::supported_tables()) {
    const std::string isa = table->isa;
    const bool generic = isa == "generic";
    for (k::dtype t : {k::dtype::q8_0, k::dtype::f16, k::dtype::bf16, k::dtype::f32}) {
      for (const shape& s : shapes) {
        if (t != k::dtype::q8_0 && std::string(s.name) != "gate_up") continue;
        const std::string base = isa + "/" + k::dtype_name(t) + "/" + s.name;
        benchmark::RegisterBenchmark((base + "/matvec").c_str(), bench_matmul, table, t, s,
                                     size_t{1})
            ->Unit(benchmark::kMicrosecond);
        if (generic && t != k::dtype::q8_0) continue;  // the scalar matmul baseline takes long
        for (size_t m : {size_t{16}, size_t{128}}) {
          if (generic && m != 16) continue;
          if (t != k::dtype::q8_0 && m != 128) continue;
          benchmark::RegisterBenchmark((base + "/matmul" + std::to_string(m)).c_str(), bench_matmul,
                                       table, t, s, m)
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
    for (int threads : {1, 2}) {
      if (generic && threads == 2) continue;
      benchmark::RegisterBenchmark(
          (isa + "/Q8_0/decode_sweep_632MB/threads:" + std::to_string(threads)).c_str(),
          bench_decode_sweep, table, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
    const char* names[] = {"rmsnorm1024",  "rope16x128",       "softmax4096",
                           "silu_mul3072", "attention512x128", "quantize3072"};
    for (int i = 0; i < 6; ++i) {
      benchmark::RegisterBenchmark((isa + "/" + names[i]).c_str(), bench_small, table, i)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
