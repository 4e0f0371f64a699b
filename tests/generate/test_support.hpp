// SPDX-License-Identifier: Apache-2.0
// Shared by the generate tests: synthetic byte vocabularies, seeded (and adversarial) logit
// streams standing in for random weights, and an independent JSON Schema validator for the
// subset the constraint compiler supports (written from the JSON Schema spec, not from the
// compiler: it walks a parsed value, the compiler builds automata).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <edgecloud/generate.hpp>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace edgecloud::generate::test {

using ojson = nlohmann::ordered_json;

// ---- vocabularies ----------------------------------------------------------------------------

struct synthetic_vocab {
  std::vector<std::string> bytes;  // index = id; empty = special
  int32_t end_id = -1;             // a special id used as end token
  std::vector<int32_t> specials;
};

// All 256 single bytes, JSON-syntax-spanning tokens like `":"`, `"},` and `": "`, digit runs,
// whitespace runs, UTF-8 words and partial UTF-8 sequences, escapes, property names, random
// substrings of JSON text (duplicates included), and 8 special ids with no bytes at the end.
inline synthetic_vocab make_synthetic_vocab(uint64_t seed, size_t random_tokens = 2500) {
  synthetic_vocab v;
  for (int b = 0; b < 256; ++b) v.bytes.emplace_back(1, static_cast<char>(b));
  const char* fixed[] = {"\":\"",
                         "\"},",
                         "\": \"",
                         "\", \"",
                         "{\"",
                         "\"}",
                         "\"]",
                         "},{\"",
                         "}, {\"",
                         "\":",
                         "\": ",
                         "\",",
                         "\"]}",
                         "\"}}",
                         "}}",
                         "]}",
                         "[{\"",
                         "[\"",
                         "[[",
                         "]]",
                         "[]",
                         "{}",
                         "true",
                         "false",
                         "null",
                         "tr",
                         "ue",
                         "fal",
                         "se",
                         "nu",
                         "ll",
                         "0",
                         "00",
                         "000",
                         "12",
                         "123",
                         "1234",
                         "99999999",
                         "-1",
                         "-",
                         ".",
                         ".5",
                         "0.",
                         "1.0",
                         "e5",
                         "E",
                         "+",
                         "  ",
                         "   ",
                         "    ",
                         "\n",
                         "\n\n",
                         "\t",
                         " \n",
                         ", ",
                         ": ",
                         " \"",
                         "\"",
                         "\\",
                         "\\\"",
                         "\\n",
                         "\\u",
                         "\\u00",
                         "\\ud8",
                         "\\\\",
                         "name",
                         "\"name",
                         "\"name\":",
                         "\"name\": \"",
                         "arguments",
                         "\"arguments\": {",
                         "\"arguments\":{\"",
                         "intent",
                         "confidence",
                         "\"confidence\": 0.",
                         "safe",
                         "reason",
                         "weather",
                         "music",
                         "\"weather\"",
                         "positive",
                         "negative",
                         "neutral",
                         "neg",
                         "pos",
                         "ative",
                         " the",
                         "ing",
                         "hello",
                         " world",
                         "你",
                         "你好",
                         "好",
                         "日本",
                         "中文",
                         "\xe4\xbd",
                         "\xbd\xa0",
                         "\xe4",
                         "\xa0",
                         "\xf0\x9f\x98",
                         "\x80",
                         "\xc3\xa9",
                         "\xed\xa0\x80",
                         "\xc0\x80",
                         "\x01",
                         "query",
                         "\"query\": \"",
                         "city",
                         "units",
                         "celsius",
                         "items",
                         "id",
                         "tags",
                         "get_weather",
                         "search",
                         "\"get_weather\"",
                         "send_email",
                         "to",
                         "subject",
                         "body"};
  for (const char* f : fixed) v.bytes.emplace_back(f);
  // Long tokens: runs and JSON fragments over 16 bytes (exercise the long-token trie).
  v.bytes.emplace_back(std::string(40, ' '));
  v.bytes.emplace_back(std::string(24, '9'));
  v.bytes.emplace_back("\"aaaaaaaaaaaaaaaaaaaaaaaa\"");
  v.bytes.emplace_back("\", \"arguments\": {\"query\": \"");
  v.bytes.emplace_back("abcdefghijklmnopqrstuvwxyz");
  v.bytes.emplace_back("0123456789012345678901234567890");
  // Random substrings of random JSON-ish text.
  std::mt19937_64 rng(seed);
  const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyz \"\"\"{}[]:,0123456789.-\\ntrue false null "
      "\xe4\xbd\xa0\xe5\xa5\xbd";
  std::string text;
  for (int i = 0; i < 20000; ++i) text.push_back(alphabet[rng() % alphabet.size()]);
  for (size_t i = 0; i < random_tokens; ++i) {
    const size_t len = 1 + rng() % (i % 10 == 0 ? 24 : 6);
    const size_t at = rng() % (text.size() - len);
    v.bytes.push_back(text.substr(at, len));
  }
  for (int i = 0; i < 8; ++i) {
    v.specials.push_back(static_cast<int32_t>(v.bytes.size()));
    v.bytes.emplace_back();
  }
  v.end_id = v.specials[1];
  return v;
}

// ---- logit streams ---------------------------------------------------------------------------

inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline float unit_noise(uint64_t& state) {  // roughly N(0,1): sum of 4 uniforms
  float s = 0;
  for (int i = 0; i < 4; ++i) {
    state = mix(state);
    s += static_cast<float>(state >> 40) / static_cast<float>(1ull << 24);
  }
  return (s - 2.0f) * 1.7f;
}

enum class profile {
  random,        // plain noise
  whitespace,    // loves spaces/newlines
  digits,        // loves digit tokens
  quotes,        // loves '"' and '\\'
  never_ending,  // loves tokens that close nothing, hates closers
  closers,       // loves '"', '}', ']'
  long_tokens,   // prefers long tokens
  specials,      // loves the masked special ids
  chaos,         // NaN / inf sprinkled in
  count
};

inline std::vector<float> profile_bias(const std::vector<std::string>& vocab, profile p) {
  std::vector<float> bias(vocab.size(), 0.0f);
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& t = vocab[id];
    auto has = [&](const char* chars) { return t.find_first_of(chars) != std::string::npos; };
    switch (p) {
      case profile::whitespace:
        bias[id] = has(" \n\t\r") ? 6.0f : 0.0f;
        break;
      case profile::digits:
        bias[id] =
            !t.empty() && t.find_first_not_of("0123456789") == std::string::npos ? 6.0f : 0.0f;
        break;
      case profile::quotes:
        bias[id] = has("\"\\") ? 6.0f : 0.0f;
        break;
      case profile::never_ending:
        bias[id] = has("\"}]") ? -8.0f : 4.0f;
        break;
      case profile::closers:
        bias[id] = has("\"}]") ? 6.0f : 0.0f;
        break;
      case profile::long_tokens:
        bias[id] = 0.4f * static_cast<float>(t.size());
        break;
      case profile::specials:
        bias[id] = t.empty() ? 50.0f : 0.0f;
        break;
      default:
        break;
    }
  }
  return bias;
}

// Logits = profile bias + fresh noise each step (on every id, or on `noisy_ids` random ids for a
// large vocabulary, the rest keeping a per-stream base noise). Deterministic per seed.
class random_logits_source {
 public:
  random_logits_source(const std::vector<float>& bias, uint64_t seed, profile p,
                       size_t noisy_ids = 0)
      : bias_(bias), logits_(bias.size()), state_(mix(seed)), profile_(p), noisy_(noisy_ids) {
    if (noisy_) {
      base_ = bias_;
      for (auto& x : base_) x += unit_noise(state_);
    }
  }
  std::span<const float> logits() {
    ++calls;
    if (noisy_) {
      std::copy(base_.begin(), base_.end(), logits_.begin());
      for (size_t k = 0; k < noisy_; ++k) {
        state_ = mix(state_);
        logits_[state_ % logits_.size()] += 3.0f * unit_noise(state_);
      }
    } else {
      for (size_t i = 0; i < logits_.size(); ++i) logits_[i] = bias_[i] + unit_noise(state_);
    }
    if (profile_ == profile::chaos) {
      for (int k = 0; k < 64; ++k) {
        state_ = mix(state_);
        const size_t i = state_ % logits_.size();
        const int kind = static_cast<int>((state_ >> 20) % 3);
        logits_[i] = kind == 0   ? std::numeric_limits<float>::quiet_NaN()
                     : kind == 1 ? std::numeric_limits<float>::infinity()
                                 : -std::numeric_limits<float>::infinity();
      }
    }
    return logits_;
  }
  void advance(int32_t token) {
    tokens.push_back(token);
    state_ = mix(state_ ^ static_cast<uint64_t>(token));
  }
  std::vector<int32_t> tokens;
  size_t calls = 0;

 private:
  std::vector<float> bias_;  // by value: callers pass temporaries
  std::vector<float> base_, logits_;
  uint64_t state_;
  profile profile_;
  size_t noisy_;
};
static_assert(LogitsSource<random_logits_source>);

// Logits are a pure function of (seed, whole token history): branching and rewinding give the
// same numbers as a fresh run, which is what brute-force label scoring relies on.
class history_source {
 public:
  history_source(size_t vocab, uint64_t seed, std::vector<int32_t> prompt = {})
      : logits_(vocab), seed_(seed), history_(std::move(prompt)) {}
  std::span<const float> logits() {
    ++calls;
    uint64_t h = mix(seed_);
    for (int32_t t : history_) h = mix(h ^ static_cast<uint64_t>(t));
    for (size_t i = 0; i < logits_.size(); ++i) logits_[i] = 2.5f * unit_noise(h);
    return logits_;
  }
  void advance(int32_t t) { history_.push_back(t); }
  size_t position() const { return history_.size(); }
  void truncate(size_t n) { history_.resize(n); }
  size_t calls = 0;

 private:
  std::vector<float> logits_;
  uint64_t seed_;
  std::vector<int32_t> history_;
};
static_assert(RewindableLogitsSource<history_source>);

// ---- independent validator -------------------------------------------------------------------

inline size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline bool type_matches(const nlohmann::json& v, const std::string& t) {
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  return false;
}

// Returns an empty string when `v` satisfies `s`, else why not.
inline std::string validate(const nlohmann::json& v, const ojson& s, const std::string& at = "$") {
  if (s.contains("enum")) {
    for (const auto& e : s["enum"])
      if (nlohmann::json(e) == v) return {};
    return at + ": not in enum";
  }
  if (s.contains("const")) return nlohmann::json(s["const"]) == v ? "" : at + ": not const";
  if (s.contains("anyOf")) {
    for (const auto& alt : s["anyOf"])
      if (validate(v, alt, at).empty()) return {};
    return at + ": matches no anyOf branch";
  }
  if (s.contains("type")) {
    std::vector<std::string> types;
    if (s["type"].is_string())
      types.push_back(s["type"]);
    else
      for (const auto& t : s["type"]) types.push_back(t);
    if (std::none_of(types.begin(), types.end(), [&](auto& t) { return type_matches(v, t); }))
      return at + ": wrong type " + v.type_name();
  }
  if (v.is_string()) {
    const size_t n = code_points(v.get<std::string>());
    if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return at + ": too long";
    if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return at + ": too short";
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (s.contains("minimum") && x < s["minimum"].get<double>()) return at + ": below minimum";
    if (s.contains("maximum") && x > s["maximum"].get<double>()) return at + ": above maximum";
    if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>())
      return at + ": not above exclusiveMinimum";
    if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>())
      return at + ": not below exclusiveMaximum";
  }
  if (v.is_array()) {
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return at + ": too many";
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return at + ": too few";
    if (s.contains("items"))
      for (size_t i = 0; i < v.size(); ++i) {
        auto r = validate(v[i], s["items"], at + "[" + std::to_string(i) + "]");
        if (!r.empty()) return r;
      }
  }
  if (v.is_object()) {
    const ojson empty = ojson::object();
    const ojson& props = s.contains("properties") ? s["properties"] : empty;
    if (s.contains("required"))
      for (const auto& r : s["required"])
        if (!v.contains(r.get<std::string>())) return at + ": missing " + r.get<std::string>();
    for (const auto& [k, x] : v.items()) {
      if (!props.contains(k)) {
        if (s.contains("additionalProperties") && s["additionalProperties"] == false)
          return at + ": extra property " + k;
        continue;
      }
      auto r = validate(x, props[k], at + "." + k);
      if (!r.empty()) return r;
    }
  }
  return {};
}

}  // namespace edgecloud::generate::test
