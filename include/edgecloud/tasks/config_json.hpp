// SPDX-License-Identifier: Apache-2.0
// JSON mapping of the classification task's settings, the "task" section of a deployment's
// config file (e.g. the routing-intent.json a trained model ships beside its GGUF):
//
//   {"prompt": {"system": "...", "user": "Message:\n{text}", "examples": [{"role", "content"}]},
//    "lang": "en", "temperature": 1.0, "head": "restricted", "end_with_stop_token": true}
//
// Every key is optional (missing = the intent_config default); unknown keys and wrong types are
// config_errors naming the key, so a typo never silently falls back to the default prompt --
// a model trained on one prompt and run on another answers noise. Labels are not part of it
// (they come with the request: --labels, the manifest).
//
// Ownership: plain values.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/tasks/config.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace edgecloud::tasks {

namespace detail {
inline void require_keys(const nlohmann::json& j, const std::string& where,
                         std::initializer_list<const char*> keys) {
  if (!j.is_object()) throw config_error(where + " must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : keys) known = known || it.key() == k;
    if (known) continue;
    std::string list;
    for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
    throw config_error(where + ": unknown key \"" + it.key() + "\" (known: " + list + ")");
  }
}
template <class T>
T typed(const nlohmann::json& j, const std::string& where) {
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw config_error(where + ": " + e.what());
  }
}
}  // namespace detail

inline prompt_template prompt_from_json(const nlohmann::json& j, const std::string& where) {
  detail::require_keys(j, where, {"system", "user", "examples"});
  prompt_template p;
  if (j.contains("system")) p.system = detail::typed<std::string>(j["system"], where + ".system");
  if (j.contains("user")) p.user = detail::typed<std::string>(j["user"], where + ".user");
  if (p.user.find("{text}") == std::string::npos)
    throw config_error(where + ".user must contain {text}");
  if (j.contains("examples")) {
    if (!j["examples"].is_array()) throw config_error(where + ".examples must be an array");
    for (const auto& m : j["examples"]) {
      detail::require_keys(m, where + ".examples[]", {"role", "content"});
      p.examples.push_back(
          {detail::typed<std::string>(m.value("role", nlohmann::json()), where + ".examples[].role"),
           detail::typed<std::string>(m.value("content", nlohmann::json()),
                                      where + ".examples[].content")});
    }
  }
  return p;
}

inline nlohmann::ordered_json prompt_to_json(const prompt_template& p) {
  nlohmann::ordered_json j{{"system", p.system}, {"user", p.user}};
  if (!p.examples.empty()) {
    j["examples"] = nlohmann::ordered_json::array();
    for (const auto& m : p.examples) j["examples"].push_back({{"role", m.role}, {"content", m.content}});
  }
  return j;
}

// Applies the task section `j` to `c` (labels untouched). `where` names the file for errors.
inline void apply_task_json(const nlohmann::json& j, intent_config& c, const std::string& where) {
  detail::require_keys(j, where, {"prompt", "lang", "temperature", "head", "end_with_stop_token"});
  if (j.contains("prompt")) c.prompt = prompt_from_json(j["prompt"], where + ".prompt");
  if (j.contains("lang")) {
    const auto l = detail::typed<std::string>(j["lang"], where + ".lang");
    if (l != "en" && l != "zh") throw config_error(where + ".lang must be \"en\" or \"zh\"");
    c.lang = l == "zh" ? language::zh : language::en;
  }
  if (j.contains("temperature")) {
    c.temperature = detail::typed<double>(j["temperature"], where + ".temperature");
    if (!(c.temperature > 0)) throw config_error(where + ".temperature must be > 0");
  }
  if (j.contains("head")) {
    const auto h = detail::typed<std::string>(j["head"], where + ".head");
    if (h != "full" && h != "restricted")
      throw config_error(where + ".head must be \"full\" or \"restricted\"");
    c.head = h == "full" ? label_head::full : label_head::restricted;
  }
  if (j.contains("end_with_stop_token"))
    c.end_with_stop_token = detail::typed<bool>(j["end_with_stop_token"], where + ".end_with_stop_token");
}

inline nlohmann::ordered_json task_to_json(const intent_config& c) {
  nlohmann::ordered_json j;
  if (c.prompt) j["prompt"] = prompt_to_json(*c.prompt);
  j["lang"] = c.lang == language::zh ? "zh" : "en";
  j["temperature"] = c.temperature;
  j["head"] = c.head == label_head::full ? "full" : "restricted";
  j["end_with_stop_token"] = c.end_with_stop_token;
  return j;
}

}  // namespace edgecloud::tasks
