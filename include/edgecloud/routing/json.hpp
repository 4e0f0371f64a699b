// SPDX-License-Identifier: Apache-2.0
// The one place where routing values map to and from JSON (nlohmann::json, found by ADL).
// Reading a config: every key is optional (missing = the default), unknown keys and values of
// the wrong type are config_errors naming the key, so a typo never silently falls back.
#pragma once

#include <cmath>
#include <edgecloud/error.hpp>
#include <edgecloud/routing/calibration.hpp>
#include <edgecloud/routing/evaluation.hpp>
#include <edgecloud/routing/types.hpp>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

namespace edgecloud::routing {

namespace detail::json_mapping {

using nlohmann::json;

inline void require_object(const json& j, const char* where,
                           std::initializer_list<const char*> keys) {
  if (!j.is_object())
    throw config_error(std::string("routing config: ") + where + " must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : keys) known = known || it.key() == k;
    if (!known) {
      std::string list;
      for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      throw config_error(std::string("routing config: unknown key \"") + it.key() + "\" in " +
                         where + " (known: " + list + ")");
    }
  }
}

template <class T>
void read(const json& j, const char* key, T& out, const char* where) {
  auto it = j.find(key);
  if (it == j.end()) return;
  try {
    out = it->template get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw config_error(std::string("routing config: ") + where + "." + key + ": " + e.what());
  }
}

}  // namespace detail::json_mapping

// Enums as their names.
inline void to_json(nlohmann::json& j, task_type t) {
  j = std::string(to_string(t));
}
inline void from_json(const nlohmann::json& j, task_type& t) {
  if (!j.is_string()) throw config_error("routing config: a task type must be a string");
  t = parse_task_type(j.get<std::string>());
}
inline void to_json(nlohmann::json& j, route r) {
  j = std::string(to_string(r));
}
inline void from_json(const nlohmann::json& j, route& r) {
  if (!j.is_string()) throw config_error("routing config: a route must be a string");
  r = parse_route(j.get<std::string>());
}
inline void to_json(nlohmann::json& j, route_override o) {
  j = std::string(to_string(o));
}
inline void from_json(const nlohmann::json& j, route_override& o) {
  if (!j.is_string()) throw config_error("routing config: an override must be a string");
  o = parse_route_override(j.get<std::string>());
}
inline void to_json(nlohmann::json& j, pii_action a) {
  j = std::string(to_string(a));
}
inline void from_json(const nlohmann::json& j, pii_action& a) {
  if (!j.is_string()) throw config_error("routing config: privacy.on_pii must be a string");
  a = parse_pii_action(j.get<std::string>());
}

inline void to_json(nlohmann::json& j, const task_thresholds& t) {
  j = {{"intent", t.intent},
       {"tool_choice", t.tool_choice},
       {"safety", t.safety},
       {"rewrite", t.rewrite},
       {"summary", t.summary}};
}
inline void from_json(const nlohmann::json& j, task_thresholds& t) {
  using namespace detail::json_mapping;
  require_object(j, "thresholds", {"intent", "tool_choice", "safety", "rewrite", "summary"});
  read(j, "intent", t.intent, "thresholds");
  read(j, "tool_choice", t.tool_choice, "thresholds");
  read(j, "safety", t.safety, "thresholds");
  read(j, "rewrite", t.rewrite, "thresholds");
  read(j, "summary", t.summary, "thresholds");
}

inline void to_json(nlohmann::json& j, const privacy_config& p) {
  j = {{"on_pii", p.on_pii},
       {"min_pii_confidence", p.min_pii_confidence},
       {"never_send_users", p.never_send_users}};
}
inline void from_json(const nlohmann::json& j, privacy_config& p) {
  using namespace detail::json_mapping;
  require_object(j, "privacy", {"on_pii", "min_pii_confidence", "never_send_users"});
  read(j, "on_pii", p.on_pii, "privacy");
  read(j, "min_pii_confidence", p.min_pii_confidence, "privacy");
  read(j, "never_send_users", p.never_send_users, "privacy");
}

inline void to_json(nlohmann::json& j, const length_config& l) {
  j = {{"max_edge_output_tokens", l.max_edge_output_tokens}, {"max_edge_turns", l.max_edge_turns}};
}
inline void from_json(const nlohmann::json& j, length_config& l) {
  using namespace detail::json_mapping;
  require_object(j, "length", {"max_edge_output_tokens", "max_edge_turns"});
  read(j, "max_edge_output_tokens", l.max_edge_output_tokens, "length");
  read(j, "max_edge_turns", l.max_edge_turns, "length");
}

inline void to_json(nlohmann::json& j, const budget_config& b) {
  j = {{"max_cloud_calls_per_minute", b.max_cloud_calls_per_minute},
       {"max_cost", b.max_cost},
       {"cost_window_seconds", b.cost_window_seconds},
       {"usd_per_1k_input_tokens", b.usd_per_1k_input_tokens},
       {"usd_per_1k_output_tokens", b.usd_per_1k_output_tokens}};
}
inline void from_json(const nlohmann::json& j, budget_config& b) {
  using namespace detail::json_mapping;
  require_object(j, "budget",
                 {"max_cloud_calls_per_minute", "max_cost", "cost_window_seconds",
                  "usd_per_1k_input_tokens", "usd_per_1k_output_tokens"});
  read(j, "max_cloud_calls_per_minute", b.max_cloud_calls_per_minute, "budget");
  read(j, "max_cost", b.max_cost, "budget");
  read(j, "cost_window_seconds", b.cost_window_seconds, "budget");
  read(j, "usd_per_1k_input_tokens", b.usd_per_1k_input_tokens, "budget");
  read(j, "usd_per_1k_output_tokens", b.usd_per_1k_output_tokens, "budget");
}

inline void to_json(nlohmann::json& j, const policy_config& c) {
  j = {{"thresholds", c.thresholds},   {"max_out_of_set_mass", c.max_out_of_set_mass},
       {"cloud_labels", c.cloud_labels},
       {"cloud_tasks", c.cloud_tasks}, {"length", c.length},
       {"privacy", c.privacy},         {"budget", c.budget}};
}
// Reads a config and validates it (config_error on the first problem).
inline void from_json(const nlohmann::json& j, policy_config& c) {
  using namespace detail::json_mapping;
  require_object(
      j, "the routing config",
      {"thresholds", "max_out_of_set_mass", "cloud_labels", "cloud_tasks", "length", "privacy",
       "budget"});
  read(j, "thresholds", c.thresholds, "config");
  read(j, "max_out_of_set_mass", c.max_out_of_set_mass, "config");
  read(j, "cloud_labels", c.cloud_labels, "config");
  read(j, "cloud_tasks", c.cloud_tasks, "config");
  read(j, "length", c.length, "config");
  read(j, "privacy", c.privacy, "config");
  read(j, "budget", c.budget, "config");
  c.validate();
}

inline void to_json(nlohmann::json& j, const network_state& n) {
  j = {{"online", n.online}, {"circuit_open", n.circuit_open}};
}
inline void from_json(const nlohmann::json& j, network_state& n) {
  using namespace detail::json_mapping;
  require_object(j, "network", {"online", "circuit_open"});
  read(j, "online", n.online, "network");
  read(j, "circuit_open", n.circuit_open, "network");
}

inline void to_json(nlohmann::json& j, const budget_state& b) {
  j = {{"calls_last_minute", b.calls_last_minute}, {"max_calls_per_minute", b.max_calls_per_minute},
       {"cost_in_window", b.cost_in_window},       {"max_cost", b.max_cost},
       {"estimated_cost", b.estimated_cost},       {"reserved", b.reserved}};
}

inline void to_json(nlohmann::json& j, const decision& d) {
  j = {{"route", d.target},
       {"preferred", d.preferred},
       {"rule", d.rule},
       {"reason", d.reason},
       {"degraded", d.degraded},
       {"redact", d.redact},
       {"task", d.task},
       {"intent", d.intent_label},
       {"confidence", d.confidence},
       {"threshold", d.threshold},
       {"out_of_set_mass", d.out_of_set_mass},
       {"max_out_of_set_mass", d.max_out_of_set_mass},
       {"expected_output_tokens", d.expected_output_tokens},
       {"max_edge_output_tokens", d.max_edge_output_tokens},
       {"turn_count", d.turn_count},
       {"max_edge_turns", d.max_edge_turns},
       {"pii_found", d.pii_found},
       {"pii_kinds", d.pii_kinds},
       {"override", d.override_route},
       {"network", d.network},
       {"budget", d.budget}};
}

// A labeled record, one JSON object per line of `edgecloud eval --data`:
//   {"query": "...", "task": "intent", "gold": "weather", "edge_prediction": "weather",
//    "edge_confidence": 0.93, "cloud_correct": true, "edge_latency_ms": 41, "cloud_latency_ms":
//    900}
// "text" is accepted for "query", "label" for "gold", "predicted" for "edge_prediction" and
// "confidence" for "edge_confidence", "latency_ms" for "edge_latency_ms", "out_of_set" (the
// edge's probability outside the labels) (so `edgecloud eval --records` lines read back);
// "cloud_quality" (graded, [0, 1]) for "cloud_correct";
// "edge_quality" overrides prediction == gold; "route" records what the assistant did;
// "label_scores" + "gold_index" (the edge's score per label) feed the temperature fit.
inline void from_json(const nlohmann::json& j, labeled_record& r) {
  using namespace detail::json_mapping;
  require_object(j, "a labeled record",
                 {"query", "text", "task", "gold", "label", "predicted", "confidence", "latency_ms",
                  "out_of_set",
                  "edge_prediction", "edge_confidence",
                  "edge_quality", "cloud_quality", "cloud_correct", "edge_latency_ms",
                  "cloud_latency_ms", "route", "id", "label_scores", "gold_index"});
  read(j, "text", r.query, "record");
  read(j, "query", r.query, "record");
  read(j, "task", r.task, "record");
  read(j, "label", r.gold, "record");
  read(j, "gold", r.gold, "record");
  read(j, "predicted", r.edge_prediction, "record");
  read(j, "edge_prediction", r.edge_prediction, "record");
  read(j, "confidence", r.edge_confidence, "record");
  read(j, "edge_confidence", r.edge_confidence, "record");
  if (j.contains("edge_quality")) {
    double q = 0;
    read(j, "edge_quality", q, "record");
    r.edge_quality = q;
  }
  if (j.contains("cloud_correct")) {
    bool ok = false;
    read(j, "cloud_correct", ok, "record");
    r.cloud_quality = ok ? 1.0 : 0.0;
  }
  read(j, "cloud_quality", r.cloud_quality, "record");
  read(j, "latency_ms", r.edge_latency_ms, "record");
  read(j, "out_of_set", r.out_of_set_mass, "record");
  read(j, "edge_latency_ms", r.edge_latency_ms, "record");
  read(j, "cloud_latency_ms", r.cloud_latency_ms, "record");
  read(j, "label_scores", r.label_scores, "record");
  if (j.contains("gold_index")) {
    size_t g = 0;
    read(j, "gold_index", g, "record");
    if (g >= r.label_scores.size())
      throw config_error("routing config: record.gold_index " + std::to_string(g) +
                         " is outside label_scores");
    r.gold_index = g;
  }
  if (j.contains("route")) {
    route rt{};
    read(j, "route", rt, "record");
    r.routed = rt;
  }
}

namespace detail::json_mapping {
// NaN (an undefined metric) is written as null, as JSON has no NaN.
inline nlohmann::json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}
}  // namespace detail::json_mapping

inline void to_json(nlohmann::json& j, const evaluation_report& r) {
  using detail::json_mapping::number_or_null;
  nlohmann::json curve = nlohmann::json::array();
  for (const curve_point& p : r.curve)
    curve.push_back(
        {{"cloud_fraction", p.cloud_fraction}, {"quality", p.quality}, {"threshold", p.threshold}});
  j = {{"records", r.records},
       {"on_device_rate", r.on_device_rate},
       {"cloud_call_rate", r.cloud_call_rate},
       {"edge_accuracy", r.edge_accuracy},
       {"edge_accuracy_on_device", number_or_null(r.edge_accuracy_on_device)},
       {"routed_quality", r.routed_quality},
       {"edge_only_quality", r.edge_only_quality},
       {"cloud_only_quality", r.cloud_only_quality},
       {"latency_ms",
        {{"p50", number_or_null(r.latency_p50_ms)},
         {"p95", number_or_null(r.latency_p95_ms)},
         {"p99", number_or_null(r.latency_p99_ms)}}},
       {"cpt50_cloud_fraction", number_or_null(r.cpt50)},
       {"cpt80_cloud_fraction", number_or_null(r.cpt80)},
       {"apgr", number_or_null(r.apgr)},
       {"ece", number_or_null(r.ece)},
       {"requests", r.records},
       {"on_device_accuracy", number_or_null(r.edge_accuracy_on_device)},
       {"in_scope_accuracy", number_or_null(r.in_scope_accuracy)},
       {"oos_to_cloud", number_or_null(r.oos_to_cloud)},
       {"out_of_scope", r.out_of_scope},
       {"curve", curve}};
}

inline void to_json(nlohmann::json& j, const task_calibration& c) {
  j = {{"records", c.records},
       {"threshold", c.threshold},
       {"cloud_rate", c.cloud_rate},
       {"quality", c.quality},
       {"on_device_accuracy", detail::json_mapping::number_or_null(c.on_device_accuracy)},
       {"reachable", c.reachable},
       {"oos_weight", c.cloud_gold_weight}};
}

inline void to_json(nlohmann::json& j, const temperature_fit& t) {
  j = {{"temperature", t.temperature}, {"nll_before", t.nll_before}, {"nll_after", t.nll_after}};
}

}  // namespace edgecloud::routing
