// SPDX-License-Identifier: Apache-2.0
// Hostile JSON Schemas: compiling either throws edgecloud::error or yields a constraint whose
// greedy output (seeded logits from the input bytes) is in the automaton's language, parses as
// JSON, fits the budget and is valid under the schema -- checked by the small validator below,
// written from the JSON Schema spec for the subset json_schema.hpp supports, not from the
// compiler. Only compiling may throw: an error raised while generating is a finding, like a
// crash, hang or out-of-bounds read.
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <optional>
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

// JSON Schema validation (draft 2020-12 semantics) of the keywords json_schema.hpp accepts.
size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
bool type_matches(const std::string& t, const nlohmann::json& v) {
  if (t == "string") return v.is_string();
  if (t == "integer")
    return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "array") return v.is_array();
  if (t == "object") return v.is_object();
  return false;
}
bool valid(const nlohmann::json& schema, const nlohmann::json& v) {
  if (!schema.is_object()) return true;
  if (auto it = schema.find("anyOf"); it != schema.end()) {
    bool any = false;
    for (const auto& branch : *it) any = any || valid(branch, v);
    if (!any) return false;
  }
  if (auto it = schema.find("const"); it != schema.end() && *it != v) return false;
  if (auto it = schema.find("enum"); it != schema.end()) {
    bool found = false;
    for (const auto& e : *it) found = found || e == v;
    if (!found) return false;
  }
  if (auto it = schema.find("type"); it != schema.end()) {
    bool ok = false;
    if (it->is_string()) ok = type_matches(it->get<std::string>(), v);
    for (const auto& t : *it)
      if (t.is_string()) ok = ok || type_matches(t.get<std::string>(), v);
    if (!ok) return false;
  }
  const auto number = [&](const char* key) -> std::optional<double> {
    auto it = schema.find(key);
    return it != schema.end() && it->is_number() ? std::optional(it->get<double>()) : std::nullopt;
  };
  if (v.is_string()) {
    const size_t n = code_points(v.get<std::string>());
    if (auto m = number("minLength"); m && n < *m) return false;
    if (auto m = number("maxLength"); m && n > *m) return false;
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (auto m = number("minimum"); m && x < *m) return false;
    if (auto m = number("maximum"); m && x > *m) return false;
    if (auto m = number("exclusiveMinimum"); m && x <= *m) return false;
    if (auto m = number("exclusiveMaximum"); m && x >= *m) return false;
  }
  if (v.is_array()) {
    if (auto m = number("minItems"); m && v.size() < *m) return false;
    if (auto m = number("maxItems"); m && v.size() > *m) return false;
    if (auto it = schema.find("items"); it != schema.end())
      for (const auto& e : v)
        if (!valid(*it, e)) return false;
  }
  if (v.is_object()) {
    const auto props = schema.find("properties");
    if (auto it = schema.find("required"); it != schema.end())
      for (const auto& k : *it)
        if (k.is_string() && !v.contains(k.get<std::string>())) return false;
    for (const auto& [k, e] : v.items()) {
      const bool declared = props != schema.end() && props->is_object() && props->contains(k);
      if (declared && !valid((*props)[k], e)) return false;
      if (auto ap = schema.find("additionalProperties");
          !declared && ap != schema.end() && *ap == false)
        return false;
    }
  }
  return true;
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
  auto vocab = fuzz_vocab();
  const int32_t end = static_cast<int32_t>(vocab->size() - 1);
  // Compiling may refuse the schema (unsupported, contradictory, too many states): a typed error.
  std::optional<eg::token_constraint> tc;
  try {
    const auto c = eg::json_schema_constraint_from_text(text, o);
    tc.emplace(eg::byte_dfa::compile(c, 20000), vocab, end);
  } catch (const edgecloud::error&) {
    return 0;
  }
  // A compiled schema must generate: nothing below may throw.
  try {
    const size_t budget = tc->tokens_to_finish(tc->start()) + size % 17;
    byte_source src{std::span<const uint8_t>(data, size), 0, std::vector<float>(vocab->size())};
    const auto out = eg::constrained_generate(src, *tc, budget);
    if (out.tokens.size() + out.ended_with_end_token > budget) std::abort();
    if (!tc->automaton().accepts(out.bytes)) std::abort();
    const auto value = nlohmann::json::parse(out.bytes);  // throws (-> abort) if it does not parse
    if (!valid(nlohmann::json::parse(text), value)) std::abort();
  } catch (...) {
    std::abort();
  }
  return 0;
}
