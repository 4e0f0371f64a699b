// SPDX-License-Identifier: Apache-2.0
// The default routing policy: answer on the device when the edge is confident enough for the
// task at hand, otherwise go to the cloud, within the user's privacy settings, the network
// state and the cloud budget. Rules, first match wins:
//
//   1. privacy.never_send     the user's switch (or config.privacy.never_send_users)  → edge
//   2. override.force_edge    the caller asked for the edge                           → edge
//   3. privacy.keep_local     PII found and config.privacy.on_pii == keep_local       → edge
//   4. override.force_cloud   the caller asked for the cloud                          → cloud
//   5. task.cloud_task        open dialogue / knowledge / reasoning (config.cloud_tasks) → cloud
//   6. length.long_output     expected output > config.length.max_edge_output_tokens   → cloud
//   7. dialogue.multi_turn    rewrite/summary with turn_count > max_edge_turns          → cloud
//   8. task.cloud_label       intent classified as one of config.cloud_labels (e.g. oos)  → cloud
//   9. task.out_of_set        out-of-set mass > config.max_out_of_set_mass             → cloud
//  10. task.low_confidence    confidence < the task's threshold                         → cloud
//  11. task.confident         otherwise                                                 → edge
//
// Privacy outranks a forced cloud: an app-level "force" never overrides a user's refusal.
// When the rules want the cloud, it must also be reachable and affordable, else the edge
// answers and the decision is marked degraded (rule network.offline, network.circuit_open,
// budget.calls_per_minute or budget.cost; `preferred` still says cloud). A cloud decision
// with PII under on_pii == redact has `redact` set: the assistant sends the redacted text only.
//
// Thread safety: `decide` and `settle` may be called from any number of threads; the only
// shared state is the budget, which locks. Ownership: owns its config and budget.
#pragma once

#include <algorithm>
#include <cstdio>
#include <edgecloud/routing/budget.hpp>
#include <edgecloud/routing/concepts.hpp>
#include <edgecloud/routing/types.hpp>
#include <string>

namespace edgecloud::routing {

class confidence_policy {
 public:
  explicit confidence_policy(
      policy_config config = {},
      cloud_budget::clock_function now = [] { return cloud_budget::clock::now(); })
      : config_((config.validate(), std::move(config))), budget_(config_.budget, std::move(now)) {}

  decision decide(const request_features& f) {
    decision d = describe(f);
    auto edge = [&](std::string rule, std::string reason) {
      d.target = d.preferred = route::edge;
      d.rule = std::move(rule);
      d.reason = std::move(reason);
      return d;
    };
    auto cloud = [&](std::string rule, std::string reason) {
      d.preferred = route::cloud;
      d.rule = std::move(rule);
      d.reason = std::move(reason);
      return reach_cloud(d, f);
    };

    bool never_send =
        f.user_never_send ||
        (!f.user_id.empty() &&
         std::find(config_.privacy.never_send_users.begin(), config_.privacy.never_send_users.end(),
                   f.user_id) != config_.privacy.never_send_users.end());
    if (never_send)
      return edge("privacy.never_send", "the user chose never to send requests to the cloud");
    if (f.override_route == route_override::force_edge)
      return edge("override.force_edge", "the caller forced the edge");
    if (d.pii_found > 0 && config_.privacy.on_pii == pii_action::keep_local)
      return edge("privacy.keep_local",
                  "personal data found (" + join(d.pii_kinds) +
                      ") and the configuration keeps such requests on the device");
    if (f.override_route == route_override::force_cloud)
      return cloud("override.force_cloud", "the caller forced the cloud");
    if (std::find(config_.cloud_tasks.begin(), config_.cloud_tasks.end(), f.task) !=
        config_.cloud_tasks.end())
      return cloud("task.cloud_task", std::string(to_string(f.task)) + " is a cloud task");
    if (d.max_edge_output_tokens > 0 && f.expected_output_tokens > d.max_edge_output_tokens)
      return cloud("length.long_output", "expected output of " +
                                             std::to_string(f.expected_output_tokens) +
                                             " tokens exceeds the edge limit of " +
                                             std::to_string(d.max_edge_output_tokens));
    bool generative = f.task == task_type::rewrite || f.task == task_type::summary;
    if (generative && d.max_edge_turns > 0 && f.turn_count > d.max_edge_turns)
      return cloud("dialogue.multi_turn", "turn " + std::to_string(f.turn_count) +
                                              " is past the edge limit of " +
                                              std::to_string(d.max_edge_turns) + " turns");
    if (f.task == task_type::intent && is_cloud_label(config_, f.intent_label))
      return cloud("task.cloud_label", "the edge classified the request as \"" + f.intent_label +
                                           "\", a label that belongs in the cloud");
    if (f.out_of_set_mass > d.max_out_of_set_mass)
      return cloud("task.out_of_set", "the edge put " + number(f.out_of_set_mass) +
                                          " of its probability outside the labels (limit " +
                                          number(d.max_out_of_set_mass) + ")");
    if (!(f.confidence >= d.threshold))
      return cloud("task.low_confidence", std::string(to_string(f.task)) + " confidence " +
                                              number(f.confidence) + " is below the threshold " +
                                              number(d.threshold));
    return edge("task.confident", std::string(to_string(f.task)) + " confidence " +
                                      number(f.confidence) + " meets the threshold " +
                                      number(d.threshold));
  }

  // Reports what a cloud decision really cost (0 if the call never happened or failed before
  // any token was billed). A decision without a reservation is ignored.
  void settle(const decision& d, double actual_cost) {
    if (d.budget.reserved) budget_.settle(d.budget.estimated_cost, actual_cost);
  }

  const policy_config& config() const { return config_; }
  budget_state budget() const { return budget_.snapshot(); }

 private:
  // Copies the request's figures and the thresholds that apply into the record.
  decision describe(const request_features& f) const {
    decision d;
    d.task = f.task;
    d.intent_label = f.intent_label;
    d.confidence = f.confidence;
    d.threshold = config_.thresholds.for_task(f.task);
    d.out_of_set_mass = f.out_of_set_mass;
    d.max_out_of_set_mass = config_.max_out_of_set_mass;
    d.expected_output_tokens = f.expected_output_tokens;
    d.max_edge_output_tokens = config_.length.max_edge_output_tokens;
    d.turn_count = f.turn_count;
    d.max_edge_turns = config_.length.max_edge_turns;
    d.override_route = f.override_route;
    d.network = f.network;
    for (const tasks::pii_span& p : f.pii) {
      if (p.confidence < config_.privacy.min_pii_confidence) continue;
      ++d.pii_found;
      std::string kind(tasks::to_string(p.kind));
      if (std::find(d.pii_kinds.begin(), d.pii_kinds.end(), kind) == d.pii_kinds.end())
        d.pii_kinds.push_back(kind);
    }
    d.budget = budget_.snapshot();
    d.budget.estimated_cost =
        config_.budget.estimate_cost(f.estimated_input_tokens, f.expected_output_tokens);
    return d;
  }

  // The rules want the cloud: check the network, then reserve budget; degrade to the edge if
  // either says no.
  decision reach_cloud(decision& d, const request_features& f) {
    auto degrade = [&](std::string rule, std::string why) {
      d.target = route::edge;
      d.degraded = true;
      d.reason = why + " (wanted the cloud: " + d.reason + ")";
      d.rule = std::move(rule);
      return d;
    };
    if (!f.network.online) return degrade("network.offline", "the device is offline");
    if (f.network.circuit_open)
      return degrade("network.circuit_open",
                     "the cloud circuit breaker is open after recent failures");
    switch (budget_.try_reserve(d.budget.estimated_cost, d.budget)) {
      case cloud_budget::verdict::calls_per_minute:
        return degrade("budget.calls_per_minute",
                       "the cap of " + std::to_string(d.budget.max_calls_per_minute) +
                           " cloud calls per minute is reached");
      case cloud_budget::verdict::cost:
        return degrade("budget.cost", "the cloud cost cap of $" + number(d.budget.max_cost) +
                                          " would be exceeded");
      case cloud_budget::verdict::ok:
        break;
    }
    d.target = route::cloud;
    if (d.pii_found > 0 && config_.privacy.on_pii == pii_action::redact) {
      d.redact = true;
      d.reason += "; personal data (" + join(d.pii_kinds) + ") is redacted before sending";
    }
    return d;
  }

  static std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }
  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
  }

  policy_config config_;
  cloud_budget budget_;
};

static_assert(RoutingPolicy<confidence_policy>);

}  // namespace edgecloud::routing
