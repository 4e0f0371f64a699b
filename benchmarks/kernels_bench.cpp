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
#include <vector>

#include "edgecloud/kernels.hpp"

namespace k = edgecloud::kernels;

namespace {

struct shape {
  const char* name;
  size_t n, rows;
};
// hidden 1024, 16 q heads / 8 kv heads of 128, FFN 3072
constexpr shape shapes[] = {{"q_proj", 1024, 2048},  {"kv_proj", 1024, 1024}, {"o_proj", 2048, 1024},
                            {"gate_up", 1024, 3072}, {"down", 3072, 1024}};

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
    if (t == k::dtype::q8_0) k::reference::quantize_row_q8_0(src, reinterpret_cast<k::block_q8_0*>(row), n);
  }
  return w;
}

void bench_matmul(benchmark::State& state, const k::kernel_table* table, k::dtype t, shape s, size_t m) {
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
  state.counters["GOPS"] = benchmark::Counter(2.0 * double(s.rows * s.n * m) * double(state.iterations()) * 1e-9,
                                              benchmark::Counter::kIsRate);
}

void bench_small(benchmark::State& state, const k::kernel_table* table, int which) {
  auto x = random_floats(4096, 3), w = random_floats(4096, 4), y = x;
  const auto kf = random_floats(512 * 1024, 5);
  std::vector<float> scores(512), out(128);
  for (auto _ : state) {
    switch (which) {
      case 0: table->rmsnorm(x.data(), w.data(), y.data(), 1024, 1e-6f); break;
      case 1: table->rope_neox(y.data(), 16, 128, 1234, 1e6f); break;
      case 2: y = x; table->softmax(y.data(), 4096); break;
      case 3: table->silu_mul(x.data(), w.data(), y.data(), 3072); break;
      case 4:
        table->attention_head(x.data(), kf.data(), kf.data() + 128, k::dtype::f32, 1024, 512, 128,
                              0.088f, scores.data(), out.data());
        break;
      case 5: table->quantize_row_q8_0(x.data(), reinterpret_cast<k::block_q8_0*>(y.data()), 3072); break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(out.data());
  }
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
        benchmark::RegisterBenchmark((base + "/matvec").c_str(), bench_matmul, table, t, s, size_t{1})
            ->Unit(benchmark::kMicrosecond);
        if (generic && t != k::dtype::q8_0) continue;  // the scalar matmul baseline takes long
        const size_t m = generic ? 16 : 128;
        benchmark::RegisterBenchmark((base + "/matmul" + std::to_string(m)).c_str(), bench_matmul, table, t, s, m)
            ->Unit(benchmark::kMillisecond);
      }
    }
    const char* names[] = {"rmsnorm1024", "rope16x128", "softmax4096", "silu_mul3072",
                           "attention512x128", "quantize3072"};
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
