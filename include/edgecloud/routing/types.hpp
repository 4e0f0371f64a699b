// SPDX-License-Identifier: Apache-2.0
// The plain values the routing layer reads and writes: what the edge found out about a request
// (`request_features`, filled from task results, never from engine types), the configuration of
// the default policy (`policy_config`, aggregates with the design's defaults) and the record of
// a decision (`decision`: where, by which rule, with every score and threshold it looked at).
// All are value types that own their strings; JSON mapping lives in routing/json.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/tasks/pii.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::routing {

// What the request asks of the assistant. The first five are edge tasks with a confidence;
// the last three are generative work that the default policy sends to the cloud.
enum class task_type : uint8_t {
  intent,
  tool_choice,
  safety,
  rewrite,
  summary,
  open_dialogue,
  knowledge,
  reasoning,
};
inline constexpr size_t task_count = 8;
inline constexpr std::array<task_type, task_count> all_tasks = {
    task_type::intent,  task_type::tool_choice,   task_type::safety,    task_type::rewrite,
    task_type::summary, task_type::open_dialogue, task_type::knowledge, task_type::reasoning};

enum class route : uint8_t { edge, cloud };
enum class route_override : uint8_t { none, force_edge, force_cloud };
// What to do when the edge found PII in a request that should go to the cloud.
enum class pii_action : uint8_t { redact, keep_local };

inline constexpr std::string_view to_string(task_type t) {
  switch (t) {
    case task_type::intent:
      return "intent";
    case task_type::tool_choice:
      return "tool_choice";
    case task_type::safety:
      return "safety";
    case task_type::rewrite:
      return "rewrite";
    case task_type::summary:
      return "summary";
    case task_type::open_dialogue:
      return "open_dialogue";
    case task_type::knowledge:
      return "knowledge";
    case task_type::reasoning:
      return "reasoning";
  }
  return "unknown";
}
inline constexpr std::string_view to_string(route r) {
  return r == route::edge ? "edge" : "cloud";
}
inline constexpr std::string_view to_string(route_override o) {
  return o == route_override::none         ? "none"
         : o == route_override::force_edge ? "force_edge"
                                           : "force_cloud";
}
inline constexpr std::string_view to_string(pii_action a) {
  return a == pii_action::redact ? "redact" : "keep_local";
}

inline task_type parse_task_type(std::string_view s) {
  for (task_type t : all_tasks)
    if (to_string(t) == s) return t;
  throw config_error("unknown task type \"" + std::string(s) +
                     "\" (expected intent, tool_choice, safety, rewrite, summary, open_dialogue, "
                     "knowledge or reasoning)");
}
inline route parse_route(std::string_view s) {
  if (s == "edge") return route::edge;
  if (s == "cloud") return route::cloud;
  throw config_error("unknown route \"" + std::string(s) + "\" (expected edge or cloud)");
}
inline route_override parse_route_override(std::string_view s) {
  if (s == "none") return route_override::none;
  if (s == "force_edge") return route_override::force_edge;
  if (s == "force_cloud") return route_override::force_cloud;
  throw config_error("unknown override \"" + std::string(s) +
                     "\" (expected none, force_edge or force_cloud)");
}
inline pii_action parse_pii_action(std::string_view s) {
  if (s == "redact") return pii_action::redact;
  if (s == "keep_local") return pii_action::keep_local;
  throw config_error("unknown PII action \"" + std::string(s) +
                     "\" (expected redact or keep_local)");
}

struct network_state {
  bool online = true;
  bool circuit_open = false;  // the transport's circuit breaker refuses calls for now
};

// Everything the policy may look at. Filled by the assistant from edge task results.
struct request_features {
  task_type task = task_type::open_dialogue;
  std::string intent_label;          // the edge's label, if it classified the request
  double confidence = 0.0;           // the edge's (calibrated) confidence in its answer
  double out_of_set_mass = 0.0;      // probability the edge put outside the allowed labels
  int expected_output_tokens = 0;    // how long the answer is expected to be
  int estimated_input_tokens = 0;    // prompt size if sent to the cloud (for the cost estimate)
  int turn_count = 1;                // turns in the conversation so far, this one included
  std::vector<tasks::pii_span> pii;  // what the PII scan found in the request
  network_state network;
  route_override override_route = route_override::none;
  std::string user_id;           // matched against privacy.never_send_users
  bool user_never_send = false;  // the user's own "never send to the cloud" switch
};

// --- Configuration of the default policy (defaults are the design's).
struct task_thresholds {
  // Minimum confidence to answer on the edge, per edge task.
  double intent = 0.90;
  double tool_choice = 0.85;
  double safety = 0.95;
  double rewrite = 0.80;
  double summary = 0.80;

  // Where task t's threshold lives; nullptr for the generative tasks, which have none (no
  // confidence is enough to keep them on the edge: see policy_config::cloud_tasks).
  static constexpr double task_thresholds::*field(task_type t) {
    switch (t) {
      case task_type::intent:
        return &task_thresholds::intent;
      case task_type::tool_choice:
        return &task_thresholds::tool_choice;
      case task_type::safety:
        return &task_thresholds::safety;
      case task_type::rewrite:
        return &task_thresholds::rewrite;
      case task_type::summary:
        return &task_thresholds::summary;
      default:
        return nullptr;
    }
  }
  static constexpr bool has_threshold(task_type t) { return field(t) != nullptr; }
  double for_task(task_type t) const {
    const auto f = field(t);
    return f ? this->*f : 1.0;
  }
  // t's threshold to change; nullptr for a generative task.
  double* for_task_mut(task_type t) {
    const auto f = field(t);
    return f ? &(this->*f) : nullptr;
  }
};

struct privacy_config {
  pii_action on_pii = pii_action::redact;
  double min_pii_confidence = 0.5;            // findings below this do not count
  std::vector<std::string> never_send_users;  // users whose requests never leave the device
};

struct length_config {
  int max_edge_output_tokens = 256;  // longer expected answers go to the cloud
  int max_edge_turns = 6;            // generative tasks deeper in a conversation go to the cloud
};

struct budget_config {
  int max_cloud_calls_per_minute = 60;   // sliding 60 s window; 0 = unlimited
  double max_cost = 0.0;                 // USD per cost window; 0 = unlimited
  double cost_window_seconds = 86400.0;  // the cost cap resets after this long
  double usd_per_1k_input_tokens = 0.0;  // price used for the estimate (0 = free, e.g. own vLLM)
  double usd_per_1k_output_tokens = 0.0;

  double estimate_cost(int input_tokens, int output_tokens) const {
    return (input_tokens > 0 ? input_tokens : 0) * usd_per_1k_input_tokens / 1000.0 +
           (output_tokens > 0 ? output_tokens : 0) * usd_per_1k_output_tokens / 1000.0;
  }
};

struct policy_config {
  task_thresholds thresholds;
  double max_out_of_set_mass = 0.2;  // more mass outside the labels = the edge is out of its depth
  // Intent labels that mean "no device intent: this belongs in the cloud" (e.g. CLINC150's
  // "oos"): a request the edge classifies as one of them goes to the cloud whatever the
  // confidence.
  std::vector<std::string> cloud_labels;
  std::vector<task_type> cloud_tasks = {task_type::open_dialogue, task_type::knowledge,
                                        task_type::reasoning};
  length_config length;
  privacy_config privacy;
  budget_config budget;

  // Throws config_error naming the first field out of range.
  void validate() const {
    auto unit = [](double v, const char* name) {
      if (!(v >= 0.0 && v <= 1.0))
        throw config_error(std::string("routing config: ") + name + " must be in [0, 1], got " +
                           std::to_string(v));
    };
    // A threshold above 1 is allowed: it keeps nothing of that task on the edge.
    for (task_type t : all_tasks) {
      if (!task_thresholds::has_threshold(t)) continue;
      double v = thresholds.for_task(t);
      if (!(v >= 0.0 && v <= 2.0))
        throw config_error("routing config: thresholds." + std::string(to_string(t)) +
                           " must be in [0, 2], got " + std::to_string(v));
    }
    unit(max_out_of_set_mass, "max_out_of_set_mass");
    for (const std::string& l : cloud_labels)
      if (l.empty()) throw config_error("routing config: cloud_labels holds an empty label");
    unit(privacy.min_pii_confidence, "privacy.min_pii_confidence");
    if (length.max_edge_output_tokens < 0 || length.max_edge_turns < 0)
      throw config_error("routing config: length limits must be >= 0");
    if (budget.max_cloud_calls_per_minute < 0 || budget.max_cost < 0 ||
        !(budget.cost_window_seconds > 0) || budget.usd_per_1k_input_tokens < 0 ||
        budget.usd_per_1k_output_tokens < 0)
      throw config_error(
          "routing config: budget caps and prices must be >= 0 and the cost "
          "window > 0 seconds");
  }
};

// Whether `label` is one of config.cloud_labels (an intent that means "send to the cloud").
inline bool is_cloud_label(const std::vector<std::string>& cloud_labels, std::string_view label) {
  for (const std::string& l : cloud_labels)
    if (l == label) return true;
  return false;
}
inline bool is_cloud_label(const policy_config& config, std::string_view label) {
  return is_cloud_label(config.cloud_labels, label);
}

// --- The record of one decision.
struct budget_state {
  int calls_last_minute = 0;     // cloud calls reserved in the last 60 s (this one included)
  int max_calls_per_minute = 0;  // 0 = unlimited
  double cost_in_window = 0.0;   // USD reserved or spent in the current cost window
  double max_cost = 0.0;         // 0 = unlimited
  double estimated_cost = 0.0;   // this request's estimate
  bool reserved = false;         // this decision holds a reservation (settle it)
};

struct decision {
  route target = route::edge;     // where the request is answered
  route preferred = route::edge;  // where the task rules wanted it, before network and budget
  std::string rule;               // machine-readable rule name, e.g. "task.low_confidence"
  std::string reason;             // one human sentence
  bool degraded = false;          // answered on the edge only because the cloud was not available
  bool redact = false;            // the text must be redacted before it leaves the device

  task_type task = task_type::open_dialogue;
  std::string intent_label;
  double confidence = 0.0;
  double threshold = 0.0;
  double out_of_set_mass = 0.0;
  double max_out_of_set_mass = 0.0;
  int expected_output_tokens = 0;
  int max_edge_output_tokens = 0;
  int turn_count = 0;
  int max_edge_turns = 0;
  size_t pii_found = 0;
  std::vector<std::string> pii_kinds;
  route_override override_route = route_override::none;
  network_state network;
  budget_state budget;
};

}  // namespace edgecloud::routing
