// SPDX-License-Identifier: Apache-2.0
// Results of the edge tasks and their JSON mapping (the one place it is written; the CLI prints
// exactly these objects).
//
//   intent:  {"intent": "weather", "confidence": 0.91, "out_of_set": 0.05,
//             "probabilities": {"weather": 0.91, ...}}
//   text:    {"text": "...", "tokens": 12, "ended": true}
//   tool:    {"tool": "set_alarm", "arguments": {...}}  or  {"tool": null}
//   safety:  {"safe": false, "reason": "violence", "pii": [{"kind": "phone", "begin": 3, ...}]}
// Each also has "stats": prompt/reused/computed/output tokens, forward passes, milliseconds.
#pragma once

#include <cstddef>
#include <edgecloud/tasks/pii.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::tasks {

struct request_stats {
  size_t prompt_tokens = 0;    // tokens of the rendered prompt
  size_t reused_tokens = 0;    // of which came from the session or the prefix cache
  size_t computed_tokens = 0;  // tokens run through the model (prompt rest + decoding)
  size_t forward_passes = 0;
  size_t output_tokens = 0;
  size_t dropped_input_tokens = 0;  // end of an over-long input cut to fit the context
  double ms = 0;
};

struct intent_result {
  std::string intent;
  size_t index = 0;
  double confidence = 0;  // probability of `intent` among the labels (at the temperature)
  double out_of_set = 0;  // probability mass the model put outside the label set
  std::vector<std::string> labels;
  std::vector<double> probabilities, log_probs;
  request_stats stats;
};

struct text_result {
  std::string text;  // valid UTF-8
  size_t tokens = 0;
  bool budget_reached = false;  // all max_tokens were used (the model did not stop earlier)
  request_stats stats;
};

struct tool_result {
  bool none = true;
  std::string name;
  nlohmann::ordered_json arguments;
  std::string raw;  // the decoded bytes: a tool-call object or "none"
  request_stats stats;
};

struct pii_finding {
  std::string kind;           // phone, id_number, email, bank_card, address, ip_address
  size_t begin = 0, end = 0;  // byte offsets into the checked text
  double confidence = 0;
};

struct safety_result {
  bool safe = true;
  std::string reason;     // "none" when safe
  double confidence = 0;  // P(verdict) between {"safe": true and {"safe": false
  std::vector<pii_finding> pii;
  std::string raw;
  request_stats stats;
};

// PII findings of the rule-based detector (tasks/pii.hpp).
inline std::vector<pii_finding> find_pii(std::string_view text) {
  std::vector<pii_finding> out;
  for (const auto& s : detect_pii(text))
    out.push_back({std::string(to_string(s.kind)), s.begin, s.end, s.confidence});
  return out;
}

inline nlohmann::ordered_json to_json(const request_stats& s) {
  return {{"prompt_tokens", s.prompt_tokens},
          {"reused_tokens", s.reused_tokens},
          {"computed_tokens", s.computed_tokens},
          {"forward_passes", s.forward_passes},
          {"output_tokens", s.output_tokens},
          {"dropped_input_tokens", s.dropped_input_tokens},
          {"ms", s.ms}};
}

inline nlohmann::ordered_json to_json(const intent_result& r) {
  nlohmann::ordered_json probs = nlohmann::ordered_json::object();
  for (size_t k = 0; k < r.labels.size() && k < r.probabilities.size(); ++k)
    probs[r.labels[k]] = r.probabilities[k];
  return {{"intent", r.intent},
          {"confidence", r.confidence},
          {"out_of_set", r.out_of_set},
          {"probabilities", probs}};
}

inline nlohmann::ordered_json to_json(const text_result& r) {
  return {{"text", r.text}, {"tokens", r.tokens}, {"budget_reached", r.budget_reached}};
}

inline nlohmann::ordered_json to_json(const tool_result& r) {
  if (r.none) return {{"tool", nullptr}};
  return {{"tool", r.name}, {"arguments", r.arguments}};
}

inline nlohmann::ordered_json to_json(const safety_result& r) {
  nlohmann::ordered_json pii = nlohmann::ordered_json::array();
  for (const auto& p : r.pii)
    pii.push_back(
        {{"kind", p.kind}, {"begin", p.begin}, {"end", p.end}, {"confidence", p.confidence}});
  return {{"safe", r.safe}, {"reason", r.reason}, {"confidence", r.confidence}, {"pii", pii}};
}

}  // namespace edgecloud::tasks
