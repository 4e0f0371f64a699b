// SPDX-License-Identifier: Apache-2.0
// Hostile JSON Schemas: compiling either throws edgecloud::error or yields a constraint whose
// greedy output (seeded logits from the input bytes) is in the automaton's language, parses as
// JSON and fits the budget. Never a crash, hang or out-of-bounds read.
#include <cstdint>
#include <cstdlib>
#include <edgecloud/generate.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace eg = edgecloud::generate;

namespace {
std::shared_ptr<const eg::token_vocabulary> fuzz_vocab() {
  static const auto v = [] {
    std::vector<std::string> t;
    for (int b = 0; b < 256; ++b) t.emplace_back(1, static_cast<char>(b));
    for (const char* s : {"\":\"", "\"},", "\": ", ", \"", "{\"", "\"}", "true", "false", "null",
                          "12", "0.", "\\u00", "  ", "\xe4\xbd", "\xa0", "aaaaaaaaaaaaaaaaaaaa"})
      t.emplace_back(s);
    t.emplace_back();  // end token (no bytes)
    return std::make_shared<const eg::token_vocabulary>(t, 4);
  }();
  return v;
}

struct byte_source {
  std::span<const uint8_t> seed;
  size_t step = 0;
  std::vector<float> z;
  std::span<const float> logits() {
    for (size_t i = 0; i < z.size(); ++i)
      z[i] = seed.empty() ? 0.0f : static_cast<float>(seed[(i * 31 + step * 7) % seed.size()]);
    return z;
  }
  void advance(int32_t) { ++step; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  eg::json_options o;
  o.default_max_string_length = 8;
  o.default_max_items = 3;
  try {
    const auto c = eg::json_schema_constraint_from_text(text, o);
    auto vocab = fuzz_vocab();
    const int32_t end = static_cast<int32_t>(vocab->size() - 1);
    eg::token_constraint tc(eg::byte_dfa::compile(c, 20000), vocab, end);
    const size_t budget = tc.tokens_to_finish(tc.start()) + size % 17;
    byte_source src{std::span<const uint8_t>(data, size), 0, std::vector<float>(vocab->size())};
    const auto out = eg::constrained_generate(src, tc, budget);
    if (out.tokens.size() + out.ended_with_end_token > budget) std::abort();
    if (!tc.automaton().accepts(out.bytes)) std::abort();
    (void)nlohmann::json::parse(out.bytes);  // throws (-> abort below) if it does not parse
  } catch (const edgecloud::error&) {
  } catch (const nlohmann::json::exception&) {
    std::abort();
  }
  return 0;
}
