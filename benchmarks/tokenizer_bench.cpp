// SPDX-License-Identifier: Apache-2.0
// Tokenizer throughput and load time, single thread (Google Benchmark; run with
// --benchmark_repetitions=5 --benchmark_report_aggregates_only=true and read the medians).
//  * encode: the texts of fixtures/tokenizer/cases.jsonl (Chinese/English technical writing,
//    edge cases, random Unicode) joined and repeated to ~10 MB, NFC on, untrusted mode; MB/s of
//    UTF-8 input. "no_cache" turns the per-thread piece cache off: the cost of pre-tokenization
//    + BPE on every piece, i.e. text that never repeats a word.
//  * load: GGUF (tiny-qwen3-fullvocab-q8_0.gguf, 151,936 tokens, 151,387 merges), tokenizer.json,
//    and the synthetic vocabulary.
// Falls back to the synthetic vocabulary (and skips the load benchmarks) without the fixtures.
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/text/tokenizer.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

namespace {

namespace text = edgecloud::text;

std::filesystem::path fixtures() {
  if (const char* env = std::getenv("EDGECLOUD_FIXTURES")) return env;
  return std::filesystem::path(EDGECLOUD_SOURCE_DIR) / ".." / "shared" / "fixtures";
}

const std::string& corpus() {
  static const std::string text = [] {
    std::string one;
    std::ifstream in(fixtures() / "tokenizer" / "cases.jsonl");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) one += nlohmann::json::parse(line)["text"].get<std::string>() + "\n";
    if (one.empty()) one = "The edge model answers in milliseconds. 边缘设备上的小模型。\n";
    std::string all;
    while (all.size() < 10'000'000) all += one;
    return all;
  }();
  return text;
}

text::vocab_data vocab() {
  const auto json = fixtures() / "tokenizer" / "tokenizer.json";
  return std::filesystem::exists(json) ? text::read_hf_tokenizer(json) : text::make_synthetic_vocab();
}

const text::tokenizer& tok(bool cache) {
  static const auto v = vocab();
  static const text::tokenizer cached(v), uncached(v, {.piece_cache = false});
  return cache ? cached : uncached;
}

void encode(benchmark::State& state, bool cache, text::encode_mode mode) {
  const auto& t = tok(cache);
  const auto& s = corpus();
  std::vector<int32_t> ids;
  size_t n_ids = 0;
  for (auto _ : state) {
    ids.clear();
    t.encode(s, mode, ids);
    n_ids = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
  state.counters["MB"] = static_cast<double>(s.size()) / 1e6;
  state.counters["tokens"] = static_cast<double>(n_ids);
}

void BM_encode(benchmark::State& s) { encode(s, true, text::encode_mode::untrusted); }
void BM_encode_trusted(benchmark::State& s) { encode(s, true, text::encode_mode::trusted); }
void BM_encode_no_cache(benchmark::State& s) { encode(s, false, text::encode_mode::untrusted); }

void BM_decode(benchmark::State& state) {
  const auto& t = tok(true);
  const auto ids = t.encode(corpus(), text::encode_mode::untrusted);
  for (auto _ : state) benchmark::DoNotOptimize(t.decode(ids));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus().size()));
}

void BM_load_gguf(benchmark::State& state) {
  const auto p = fixtures() / "models" / "tiny-qwen3-fullvocab-q8_0.gguf";
  if (!std::filesystem::exists(p)) return state.SkipWithError("fixture model not found");
  for (auto _ : state) benchmark::DoNotOptimize(edgecloud::generate::load_tokenizer(p).size());
}

void BM_load_tokenizer_json(benchmark::State& state) {
  const auto p = fixtures() / "tokenizer" / "tokenizer.json";
  if (!std::filesystem::exists(p)) return state.SkipWithError("fixture tokenizer.json not found");
  for (auto _ : state) benchmark::DoNotOptimize(edgecloud::generate::load_tokenizer(p).size());
}

void BM_load_synthetic(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(text::tokenizer(text::make_synthetic_vocab()).size());
}

BENCHMARK(BM_encode)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_encode_trusted)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_encode_no_cache)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_decode)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_load_gguf)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_load_tokenizer_json)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_load_synthetic)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
