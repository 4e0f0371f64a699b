// SPDX-License-Identifier: Apache-2.0
// Constrained decoding cost on the full Qwen3 vocabulary (151,936 logits):
//   * mask cost per generated token = forced-token check + mask lookup + advancing the
//     automaton by the chosen token (what the constraint adds to a decode step), median and p95,
//     once the per-state caches are warm and on a cold first generation;
//   * masked greedy selection (one pass over the logits; an unconstrained argmax pays the same);
//   * compile time per schema (automaton + binding to the vocabulary) and one-off vocabulary
//     indexing.
// Prints a table and one JSON line; then runs the Google Benchmark compile timings.
// Needs ../shared/fixtures/tokenizer/tokenizer.json (or EDGECLOUD_FIXTURES); skips otherwise.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <edgecloud/generate.hpp>
#include <edgecloud/text/vocab.hpp>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace eg = edgecloud::generate;
using clock_type = std::chrono::steady_clock;

namespace {

const char* kIntent = R"({"type":"object","properties":{
  "intent":{"enum":["weather","music","navigation","alarm","timer","calendar","email","search",
                    "smart_home","other"]},
  "confidence":{"type":"number","minimum":0,"maximum":1}},"required":["intent","confidence"]})";

const char* kNested = R"({"type":"object","properties":{
  "title":{"type":"string","maxLength":40},
  "count":{"type":"integer","minimum":-50,"maximum":1200},
  "tags":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":4},
  "points":{"type":"array","items":{"type":"object","properties":{
      "x":{"type":"integer","minimum":0,"maximum":99},"label":{"type":["string","null"],"maxLength":8}},
      "required":["x"]},"maxItems":3},
  "ok":{"type":"boolean"}},"required":["title","count"]})";

const char* kTools = R"([
  {"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{
    "city":{"type":"string","maxLength":32},"units":{"enum":["celsius","fahrenheit"]}},
    "required":["city"]}}},
  {"name":"search","parameters":{"type":"object","properties":{"query":{"type":"string",
    "maxLength":64},"limit":{"type":"integer","minimum":1,"maximum":20}},"required":["query"]}},
  {"name":"send_email","parameters":{"type":"object","properties":{"to":{"type":"string",
    "maxLength":40},"subject":{"type":"string","maxLength":60},"urgent":{"type":"boolean"}},
    "required":["to","subject"]}},
  {"name":"set_timer","parameters":{"type":"object","properties":{"minutes":{"type":"integer",
    "minimum":1,"maximum":1440}},"required":["minutes"]}}])";

std::string fixture_path() {
  std::filesystem::path dir =
      std::getenv("EDGECLOUD_FIXTURES")
          ? std::filesystem::path(std::getenv("EDGECLOUD_FIXTURES"))
          : std::filesystem::path(EDGECLOUD_SOURCE_DIR) / ".." / "shared" / "fixtures";
  auto p = dir / "tokenizer" / "tokenizer.json";
  return std::filesystem::exists(p) ? p.string() : std::string();
}

std::shared_ptr<const eg::token_vocabulary>& vocab() {
  static std::shared_ptr<const eg::token_vocabulary> v;
  return v;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

struct run_stats {
  std::vector<double> mask_us, argmax_us;
  size_t tokens = 0, forced = 0, generations = 0;
};

// Generates with seeded logits (a random base plus fresh noise on 2,048 ids per step) and times
// the constraint's share of each step.
void generate(eg::token_constraint& c, size_t budget, int generations, uint64_t seed, run_stats& st,
              bool record) {
  const size_t n = c.vocab_size();
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n01;
  std::vector<float> base(n), z(n);
  for (auto& x : base) x = n01(rng);
  for (int g = 0; g < generations; ++g) {
    eg::constrained_decoder dec(c, budget);
    while (!dec.done()) {
      const auto t0 = clock_type::now();
      int32_t token = dec.forced();
      const eg::token_mask* mask = token < 0 ? &dec.mask() : nullptr;
      const auto t1 = clock_type::now();
      double argmax_us = -1;
      if (token < 0) {
        std::copy(base.begin(), base.end(), z.begin());
        for (int k = 0; k < 2048; ++k) z[rng() % n] += 3.0f * n01(rng);
        const auto a0 = clock_type::now();
        token = eg::masked_argmax(z, *mask);
        argmax_us = std::chrono::duration<double, std::micro>(clock_type::now() - a0).count();
      } else {
        ++st.forced;
      }
      const auto t2 = clock_type::now();
      dec.accept(token);
      const auto t3 = clock_type::now();
      if (record) {
        st.mask_us.push_back(
            std::chrono::duration<double, std::micro>((t1 - t0) + (t3 - t2)).count());
        if (argmax_us >= 0) st.argmax_us.push_back(argmax_us);
      }
      ++st.tokens;
    }
    ++st.generations;
  }
}

struct row {
  std::string name;
  size_t states = 0, groups = 0;
  double compile_ms = 0, cold_median = 0, cold_p95 = 0, warm_median = 0, warm_p95 = 0,
         argmax_median = 0, forced_share = 0, cache_mb = 0, precompute_ms = 0;
};

row measure(const std::string& name, const eg::constraint& constraint, int32_t end_token,
            size_t budget) {
  row r;
  r.name = name;
  const auto c0 = clock_type::now();
  eg::token_constraint c(eg::byte_dfa::compile(constraint), vocab(), end_token);
  r.compile_ms = std::chrono::duration<double, std::milli>(clock_type::now() - c0).count();
  r.states = c.automaton().size();
  r.groups = c.stats().lookahead_groups;
  run_stats cold;
  generate(c, budget, 1, 1, cold, true);
  r.cold_median = median(cold.mask_us);
  r.cold_p95 = percentile(cold.mask_us, 0.95);
  run_stats warmup, warm;
  generate(c, budget, 300, 2, warmup, false);  // fills the caches the way serving would
  generate(c, budget, 200, 3, warm, true);
  r.warm_median = median(warm.mask_us);
  r.warm_p95 = percentile(warm.mask_us, 0.95);
  r.argmax_median = median(warm.argmax_us);
  r.forced_share = warm.tokens ? static_cast<double>(warm.forced) / warm.tokens : 0;
  r.cache_mb = c.stats().bytes / 1e6;
  // Filling every state's structural mask up front (what a server does at load time).
  eg::token_constraint fresh(eg::byte_dfa::compile(constraint), vocab(), end_token);
  const auto p0 = clock_type::now();
  fresh.precompute();
  r.precompute_ms = std::chrono::duration<double, std::milli>(clock_type::now() - p0).count();
  return r;
}

void BM_CompileSchema(benchmark::State& state, const char* schema) {
  for (auto _ : state) {
    eg::token_constraint c(eg::byte_dfa::compile(eg::json_schema_constraint_from_text(schema)),
                           vocab(), 151645);
    benchmark::DoNotOptimize(c.start());
  }
}
void BM_CompileTools(benchmark::State& state) {
  const auto tools = nlohmann::ordered_json::parse(kTools);
  for (auto _ : state) {
    eg::token_constraint c(eg::byte_dfa::compile(eg::tool_call_constraint(tools)), vocab(), 151645);
    benchmark::DoNotOptimize(c.start());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = fixture_path();
  if (path.empty()) {
    std::printf("constrain_bench: tokenizer fixture not found (../shared/fixtures); skipped\n");
    return 0;
  }
  const auto v0 = clock_type::now();
  const auto data = edgecloud::text::read_hf_tokenizer(path);
  const auto v1 = clock_type::now();
  vocab() = std::make_shared<const eg::token_vocabulary>(eg::token_bytes(data, 151936));
  const auto v2 = clock_type::now();
  const int32_t im_end = 151645;
  std::printf("vocabulary: 151,936 ids, tokenizer.json read %.0f ms, byte tries built %.0f ms\n",
              std::chrono::duration<double, std::milli>(v1 - v0).count(),
              std::chrono::duration<double, std::milli>(v2 - v1).count());

  std::vector<row> rows;
  rows.push_back(measure("json intent (10 labels + number)",
                         eg::json_schema_constraint_from_text(kIntent), im_end, 64));
  rows.push_back(measure("json nested (strings, arrays)",
                         eg::json_schema_constraint_from_text(kNested), im_end, 256));
  rows.push_back(measure("tool call (4 tools)",
                         eg::tool_call_constraint(nlohmann::ordered_json::parse(kTools)), im_end,
                         256));
  rows.push_back(
      measure("label choice (10 labels)",
              eg::constraint::choice({"weather", "music", "navigation", "alarm", "timer",
                                      "calendar", "email", "search", "smart_home", "other"}),
              im_end, 16));
  std::printf("\n%-34s %7s %7s %10s %10s %9s %9s %9s %9s %9s %7s %8s\n", "constraint", "states",
              "groups", "compile ms", "precomp ms", "cold med", "cold p95", "warm med", "warm p95",
              "argmax", "forced", "cache MB");
  for (const auto& r : rows)
    std::printf("%-34s %7zu %7zu %10.1f %10.1f %9.2f %9.1f %9.3f %9.3f %9.1f %6.0f%% %8.1f\n",
                r.name.c_str(), r.states, r.groups, r.compile_ms, r.precompute_ms, r.cold_median,
                r.cold_p95, r.warm_median, r.warm_p95, r.argmax_median, 100 * r.forced_share,
                r.cache_mb);
  std::printf(
      "(per-token times in microseconds: mask = forced check + mask lookup + automaton "
      "advance; argmax = masked greedy over 151,936 logits)\n");
  std::printf("{\"bench\":\"constrain\",\"vocab\":151936,\"rows\":[");
  for (size_t i = 0; i < rows.size(); ++i)
    std::printf(
        "%s{\"name\":\"%s\",\"compile_ms\":%.2f,\"mask_us_median\":%.4f,"
        "\"mask_us_p95\":%.4f,\"cold_mask_us_median\":%.3f,\"argmax_us_median\":%.2f,"
        "\"precompute_ms\":%.1f}",
        i ? "," : "", rows[i].name.c_str(), rows[i].compile_ms, rows[i].warm_median,
        rows[i].warm_p95, rows[i].cold_median, rows[i].argmax_median, rows[i].precompute_ms);
  std::printf("]}\n\n");

  benchmark::RegisterBenchmark("compile/json_intent", BM_CompileSchema, kIntent)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("compile/json_nested", BM_CompileSchema, kNested)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("compile/tool_call_4", BM_CompileTools)
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
