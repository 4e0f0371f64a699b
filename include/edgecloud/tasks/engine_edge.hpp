// SPDX-License-Identifier: Apache-2.0
// engine_edge: the edge tasks as the assistant's EdgeModel (assistant/edge_model.hpp).
//
//   edgecloud::tasks::engine edge_tasks(model, tok);
//   edgecloud::tasks::engine_edge edge(edge_tasks, {.intent = {.temperature = 1.3}});
//   edgecloud::basic_assistant<edgecloud::tasks::engine_edge> a(std::move(edge), policy, cloud);
//
// classify_intent -> engine::classify (confidence over the labels at the calibrated temperature,
// out-of-set mass before masking); rewrite -> engine::rewrite with the history; check_safety ->
// engine::check_safety (verdict probability as confidence; PII is the assistant's own pass, so
// it is off here); answer -> engine::answer with the history as chat turns, within max_tokens.
//
// This header includes the assistant's plain value types (edge_model.hpp depends on nothing);
// tasks.hpp does not include it, so the tasks layer stays below the assistant.
// Ownership: borrows the engine (must outlive it). Not thread-safe, like the engine; the
// assistant serialises calls into its edge.
#pragma once

#include <edgecloud/assistant/edge_model.hpp>
#include <edgecloud/tasks/engine.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::tasks {

struct engine_edge_config {
  intent_config intent{};  // labels are replaced by the caller's
  rewrite_config rewrite{};
  safety_config safety{.detect_pii = false};
  answer_config answer{};
};

class engine_edge {
 public:
  explicit engine_edge(engine& e, engine_edge_config config = {})
      : engine_(&e), config_(std::move(config)) {}

  const engine_edge_config& config() const noexcept { return config_; }
  engine_edge_config& config() noexcept { return config_; }

  edge_intent classify_intent(std::string_view text, std::span<const std::string> labels) {
    intent_config c = config_.intent;
    c.labels.assign(labels.begin(), labels.end());
    const auto r = engine_->classify(text, c);
    return edge_intent{r.intent, r.confidence, r.out_of_set};
  }

  std::string rewrite(std::string_view text, std::span<const turn> history) {
    return engine_->rewrite(text, messages(history), config_.rewrite).text;
  }

  edge_safety check_safety(std::string_view text) {
    const auto r = engine_->check_safety(text, config_.safety);
    return edge_safety{r.safe, r.reason, r.confidence};
  }

  std::string answer(const edge_answer_request& request) { return answer(request, {}); }
  // Streaming: the engine's answer as it is decoded, whole characters at a time.
  std::string answer(const edge_answer_request& request, const text_sink& sink) {
    answer_config c = config_.answer;
    if (request.max_tokens > 0) c.max_tokens = static_cast<size_t>(request.max_tokens);
    return engine_->answer(request.query, messages(request.history), c, sink).text;
  }

 private:
  static std::vector<chat_message> messages(std::span<const turn> history) {
    std::vector<chat_message> out;
    out.reserve(history.size());
    for (const auto& t : history)
      if (t.role == "user" || t.role == "assistant") out.push_back({t.role, t.content});
    return out;
  }

  engine* engine_;
  engine_edge_config config_;
};

static_assert(StreamingEdgeModel<engine_edge>);

}  // namespace edgecloud::tasks
