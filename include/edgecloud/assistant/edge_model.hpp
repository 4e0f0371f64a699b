// SPDX-License-Identifier: Apache-2.0
// What the assistant needs from the on-device model: the EdgeModel concept and the plain values
// it exchanges. The real engine (Qwen3 + the edge tasks) plugs in by providing these four calls;
// tests and demos use the deterministic stand_in_edge (assistant/stand_in_edge.hpp).
//
// The assistant serialises every call into one EdgeModel (one mutex): an edge model needs no
// internal locking, and one engine's KV cache and scratch buffers are never shared by two
// requests at once. Calls may throw (the assistant turns that into an explicit error answer).
#pragma once

#include <concepts>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud {

// One earlier turn of the conversation ("user" or "assistant").
struct turn {
  std::string role;
  std::string content;
};

struct edge_intent {
  std::string label;             // one of the labels asked for
  double confidence = 0.0;       // normalised over the labels, calibrated if a temperature is set
  double out_of_set_mass = 0.0;  // probability the model put outside the labels before masking
};

struct edge_safety {
  bool safe = true;
  std::string category;     // "none" when safe, else e.g. "violence", "self_harm"
  double confidence = 1.0;  // in the verdict
};

struct edge_answer_request {
  std::string_view query;         // the (rewritten) request
  std::string_view intent;        // the edge's intent label
  std::span<const turn> history;  // earlier turns, oldest first
  int max_tokens = 128;
};

// Streaming sink of an edge answer: called with each new piece of text (whole UTF-8 characters),
// in order; the pieces concatenated are the answer. Return false to stop generating.
using text_sink = std::function<bool(std::string_view)>;

template <class E>
concept EdgeModel = requires(E& edge, std::string_view text, std::span<const std::string> labels,
                             std::span<const turn> history, const edge_answer_request& request) {
  { edge.classify_intent(text, labels) } -> std::same_as<edge_intent>;
  { edge.rewrite(text, history) } -> std::convertible_to<std::string>;
  { edge.check_safety(text) } -> std::same_as<edge_safety>;
  { edge.answer(request) } -> std::convertible_to<std::string>;
};

// An edge that streams its answer as it generates (the engine does, token by token). The
// assistant uses it when the app asked for streaming; an EdgeModel without it has its whole
// answer delivered as one piece.
template <class E>
concept StreamingEdgeModel =
    EdgeModel<E> && requires(E& edge, const edge_answer_request& request, const text_sink& sink) {
      { edge.answer(request, sink) } -> std::convertible_to<std::string>;
    };

}  // namespace edgecloud
