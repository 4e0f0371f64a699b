// SPDX-License-Identifier: Apache-2.0
// The config file of a deployed model (`--config routing.json` of route, eval, calibrate and
// task-prompt): the routing policy (routing/json.hpp: thresholds, cloud_labels, ...) plus an
// optional "task" section with the classification prompt and options (tasks/config_json.hpp).
// One file, read by the engine at inference and by the trainer through `task-prompt`, is the
// single source of the prompt a model was trained on.
#pragma once

#include <edgecloud/routing.hpp>
#include <edgecloud/tasks/config_json.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace edgecloud::cli {

struct deployment_config {
  routing::policy_config policy;
  nlohmann::json task;  // the "task" section; null when the file has none
  std::string path;     // empty: no file given (defaults)

  // Applies the task section to an intent configuration (labels untouched).
  void apply(tasks::intent_config& c) const {
    if (!task.is_null()) tasks::apply_task_json(task, c, path + ": task");
  }
};

inline deployment_config read_deployment_config(const std::optional<std::string>& path) {
  deployment_config d;
  if (!path) return d;
  d.path = *path;
  std::ifstream in(*path);
  if (!in) throw config_error("cannot open routing config " + *path);
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw config_error(*path + " is not valid JSON");
  if (!j.is_object()) throw config_error(*path + ": the routing config must be a JSON object");
  if (auto t = j.find("task"); t != j.end()) {
    d.task = *t;
    j.erase(t);
    tasks::intent_config check;
    d.apply(check);  // reject a bad task section now, whatever the command does with it
  }
  try {
    d.policy = j.get<routing::policy_config>();
  } catch (const config_error& e) {
    throw config_error(*path + ": " + e.what());
  }
  return d;
}

// The file as read, with `policy` in place of its routing part (the task section kept).
inline nlohmann::ordered_json deployment_to_json(const deployment_config& d) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(nlohmann::json(d.policy).dump());
  if (!d.task.is_null()) j["task"] = nlohmann::ordered_json::parse(d.task.dump());
  return j;
}

}  // namespace edgecloud::cli
