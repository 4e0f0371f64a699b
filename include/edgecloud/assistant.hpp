// SPDX-License-Identifier: Apache-2.0
// The assistant: one call from the host app answers a request on the device or in the cloud,
// and never loses it.
//
//   basic_assistant<Edge, Policy = routing::confidence_policy, Transport =
//   transport::openai_transport>
//
// Per request (`ask`):
//   1. edge pre-processing, under the edge mutex: safety check, intent + confidence over the
//      configured labels, rewrite (when there is history, or always if configured);
//      PII scan of the request and its history (tasks/pii.hpp, no model);
//   2. routing: request features → Policy::decide → a decision record (rule, scores,
//      thresholds, budget); the transport's circuit state and the app's online flag feed it;
//   3. an optional retrieval hint (the request's, or the configured one for the intent label);
//   4. edge answer (under the edge mutex), or a cloud call carrying the edge's intent, confidence,
//      rewritten query, hint and routing rule in the transport's `edgecloud` extension field,
//      with the text redacted first when the decision says so;
//   5. the cloud fails (timeout, HTTP error, broken stream, circuit open…) → the edge answers,
//      marked `fallback: true` with the cloud's error kept in `fallback_reason`.
// Streaming (assistant_request::on_delta): the events an app receives are the truth. Deltas
// carry the answer as it is produced, from the cloud or from the edge (token by token when the
// edge is a StreamingEdgeModel); when a cloud stream that already showed text is abandoned
// (broken, truncated, past its deadline, cancelled, the circuit opening) a `reset` event with the
// reason comes before the fallback answer streams, so the text after the last reset always
// equals the final `answer`. The transport never retries once text was delivered, so no text
// is shown twice. A callback that returns false stops the answer there: the response then
// holds exactly the text delivered (`stopped` is set) and nothing falls back.
// Every request ends in an answer or an explicit error (`answered == false`, `error` says why);
// every one is counted once in telemetry().
//
// Concurrency: any number of app threads may call ask() at once. The edge is serialised (one
// mutex, held only for edge calls); cloud calls run in parallel, outside that mutex; the policy,
// transport and telemetry are thread-safe by contract.
// Ownership: the assistant owns its edge, policy, transport and telemetry (constructed in
// place, so parts that are neither copyable nor movable are fine). Not copyable or movable.
#pragma once

#include <atomic>
#include <chrono>
#include <edgecloud/assistant/edge_model.hpp>
#include <functional>
#include <edgecloud/assistant/stand_in_edge.hpp>
#include <edgecloud/routing.hpp>
#include <edgecloud/tasks/pii.hpp>
#include <edgecloud/transport.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace edgecloud {

struct assistant_config {
  // Labels the edge classifies into; labels listed in label_tasks map to that task type, all
  // others are device intents (task "intent": answered locally when confident).
  std::vector<std::string> intent_labels = {"weather",    "alarm",    "music",     "navigation",
                                            "smart_home", "chitchat", "knowledge", "reasoning"};
  std::map<std::string, routing::task_type> label_tasks = {
      {"chitchat", routing::task_type::open_dialogue},
      {"knowledge", routing::task_type::knowledge},
      {"reasoning", routing::task_type::reasoning}};
  std::map<std::string, std::string> retrieval_hints;  // intent label → hint for the cloud
  std::string system_prompt = "You are a helpful assistant. Answer in the user's language.";
  bool check_safety = true;
  bool always_rewrite = false;  // else only when there is history
  std::string refusal = "抱歉，我不能帮助完成这个请求。Sorry, I can't help with that.";
  int edge_max_tokens = 128;
  int cloud_max_tokens = 512;
  int expected_tokens_device_task = 32;  // expected answer length of a device intent
  std::string cloud_model;               // "" = the transport's default
  nlohmann::json cloud_extra = nlohmann::json::object();   // e.g. {"chat_template_kwargs": {...}}
  std::optional<std::chrono::milliseconds> cloud_timeout;  // overrides the transport's total
  tasks::pii_options pii;
  bool start_online = true;                     // initial set_online() state (false: edge only)
};

// One streaming event of an answer (assistant_request::on_delta).
struct answer_event {
  enum class kind { delta, reset };
  kind type = kind::delta;
  std::string_view text;    // delta: text appended to what the app shows
  std::string_view reason;  // reset: why the text shown so far is withdrawn
  routing::route source = routing::route::edge;  // delta: who produced it
};
// Return false to stop the answer (for a reset the result is ignored).
using answer_callback = std::function<bool(const answer_event&)>;

struct assistant_request {
  std::string text;
  std::vector<turn> history;               // earlier turns, oldest first
  std::optional<routing::task_type> task;  // when the app knows; else from the intent label
  routing::route_override override_route = routing::route_override::none;
  std::string user_id;
  bool user_never_send = false;
  std::string retrieval_hint;  // overrides the configured hint
  std::optional<int> expected_output_tokens;
  std::stop_token cancel;              // cancels the cloud call
  answer_callback on_delta;  // stream the answer, cloud or edge (empty = no streaming)
};

struct assistant_response {
  bool answered = false;  // false only when even the edge failed (see `error`)
  std::string answer;
  routing::route route = routing::route::edge;  // who produced the answer
  bool fallback = false;        // the cloud was chosen but failed; the edge answered
  std::string fallback_reason;  // the cloud's failure, verbatim
  bool degraded = false;        // the policy kept it local because the cloud was unavailable
  bool redacted = false;        // PII was replaced before the request left the device
  bool stopped = false;         // the app's stream callback stopped the answer (it is partial)
  std::string error;            // when !answered
  routing::decision decision;
  edge_intent intent;
  edge_safety safety;
  std::string rewritten_query;
  std::vector<tasks::pii_span> pii;  // found in the request text (offsets into it)
  std::string sent_text;             // the user message as sent to the cloud (empty if none)
  transport::call_status cloud_status = transport::call_status::ok;
  transport::token_usage cloud_usage;
  double latency_ms = 0, edge_ms = 0, cloud_ms = 0;
};

inline nlohmann::json to_json_value(const assistant_response& r) {
  nlohmann::json pii = nlohmann::json::array();
  for (const auto& p : r.pii) pii.push_back(std::string(tasks::to_string(p.kind)));
  nlohmann::json j = {
      {"route", std::string(routing::to_string(r.route))},
      {"fallback", r.fallback},
      {"reason", r.fallback ? "cloud failed (" + r.fallback_reason + "); answered on the edge"
                            : r.decision.reason},
      {"rule", r.decision.rule},
      {"answer", r.answer},
      {"answered", r.answered},
      {"degraded", r.degraded},
      {"redacted", r.redacted},
      {"latency_ms", r.latency_ms},
      {"edge_ms", r.edge_ms},
      {"cloud_ms", r.cloud_ms},
      {"intent", r.intent.label},
      {"confidence", r.intent.confidence},
      {"rewritten_query", r.rewritten_query},
      {"pii", pii},
      {"decision", r.decision}};
  if (r.fallback) j["fallback_reason"] = r.fallback_reason;
  if (r.stopped) j["stopped"] = true;
  if (!r.answered) j["error"] = r.error;
  if (r.decision.target == routing::route::cloud)
    j["cloud"] = {{"status", transport::to_string(r.cloud_status)},
                  {"prompt_tokens", r.cloud_usage.prompt_tokens},
                  {"completion_tokens", r.cloud_usage.completion_tokens}};
  return j;
}

// ADL form: `nlohmann::json j = response;`
inline void to_json(nlohmann::json& j, const assistant_response& r) {
  j = to_json_value(r);
}

template <EdgeModel Edge, routing::RoutingPolicy Policy = routing::confidence_policy,
          transport::CloudTransport Transport = transport::openai_transport>
class basic_assistant {
 public:
  using edge_type = Edge;
  using policy_type = Policy;
  using transport_type = Transport;

  // Each part constructed in place from its argument tuple (like std::pair's piecewise ctor).
  template <class... EdgeArgs, class... PolicyArgs, class... TransportArgs>
  basic_assistant(std::piecewise_construct_t, std::tuple<EdgeArgs...> edge_args,
                  std::tuple<PolicyArgs...> policy_args,
                  std::tuple<TransportArgs...> transport_args, assistant_config config = {})
      : config_(std::move(config)),
        edge_(std::make_from_tuple<Edge>(std::move(edge_args))),
        policy_(std::make_from_tuple<Policy>(std::move(policy_args))),
        transport_(std::make_from_tuple<Transport>(std::move(transport_args))) {}

  // The simple case: an edge, what the transport is built from (its config, or a backend for
  // the loopback transport), and optionally the policy's and the assistant's configs.
  template <class TransportArg>
  requires std::constructible_from<Transport, TransportArg&&> &&
      std::constructible_from<Policy, routing::policy_config>
      basic_assistant(Edge edge, TransportArg&& transport_arg, routing::policy_config policy = {},
                      assistant_config config = {})
      : config_(std::move(config)),
        edge_(std::move(edge)),
        policy_(std::move(policy)),
        transport_(std::forward<TransportArg>(transport_arg)) {}

  basic_assistant(const basic_assistant&) = delete;
  basic_assistant& operator=(const basic_assistant&) = delete;

  assistant_response ask(const assistant_request& request);
  assistant_response ask(std::string text) {
    assistant_request r;
    r.text = std::move(text);
    return ask(r);
  }

  // The app tells the assistant about connectivity (e.g. from the OS); offline → edge, degraded.
  void set_online(bool online) { online_.store(online); }
  bool online() const { return online_.load(); }

  const assistant_config& config() const { return config_; }
  Policy& policy() { return policy_; }
  Transport& transport() { return transport_; }
  const routing::telemetry& telemetry() const { return telemetry_; }
  // Direct access to the edge, serialised like the assistant's own calls.
  template <class F>
  decltype(auto) with_edge(F&& f) {
    std::lock_guard lock(edge_mutex_);
    return std::forward<F>(f)(edge_);
  }

 private:
  using clock = std::chrono::steady_clock;
  static double ms_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  }
  routing::task_type task_for(const assistant_request& request, const edge_intent& intent) const {
    if (request.task) return *request.task;
    auto it = config_.label_tasks.find(intent.label);
    return it == config_.label_tasks.end() ? routing::task_type::intent : it->second;
  }
  double cost_of(const transport::token_usage& usage) {
    if constexpr (requires { policy_.config().budget.estimate_cost(0, 0); })
      return policy_.config().budget.estimate_cost(static_cast<int>(usage.prompt_tokens),
                                                   static_cast<int>(usage.completion_tokens));
    else
      return 0.0;
  }
  // The edge answers (under the edge mutex); a refusal when the edge judged the request unsafe.
  void answer_on_edge(const assistant_request& request, assistant_response& out);
  void finish(assistant_response& out, clock::time_point start, routing::task_type task);

  assistant_config config_;
  Edge edge_;
  Policy policy_;
  Transport transport_;
  routing::telemetry telemetry_;
  std::mutex edge_mutex_;
  std::atomic<bool> online_{config_.start_online};
};

template <EdgeModel Edge, routing::RoutingPolicy Policy, transport::CloudTransport Transport>
assistant_response basic_assistant<Edge, Policy, Transport>::ask(const assistant_request& request) {
  const auto start = clock::now();
  assistant_response out;
  routing::task_type task = request.task.value_or(routing::task_type::intent);

  // 1. Edge pre-processing (serialised).
  try {
    std::lock_guard lock(edge_mutex_);
    if (config_.check_safety) out.safety = edge_.check_safety(request.text);
    out.intent = edge_.classify_intent(request.text, config_.intent_labels);
    out.rewritten_query = (config_.always_rewrite || !request.history.empty())
                              ? std::string(edge_.rewrite(request.text, request.history))
                              : request.text;
  } catch (const std::exception& e) {
    out.error = std::string("edge pre-processing failed: ") + e.what();
    telemetry_.record_error(routing::route::edge);
    out.latency_ms = ms_between(start, clock::now());
    return out;
  }
  out.edge_ms = ms_between(start, clock::now());
  task = task_for(request, out.intent);
  out.pii = tasks::detect_pii(request.text, config_.pii);
  std::vector<std::vector<tasks::pii_span>> history_pii;
  for (const turn& t : request.history)
    history_pii.push_back(tasks::detect_pii(t.content, config_.pii));

  // 2. Routing decision from plain features.
  routing::request_features f;
  f.task = out.safety.safe ? task : routing::task_type::safety;
  f.intent_label = out.intent.label;
  f.confidence = out.safety.safe ? out.intent.confidence : out.safety.confidence;
  f.out_of_set_mass = out.safety.safe ? out.intent.out_of_set_mass : 0.0;
  bool device_task = f.task == routing::task_type::intent ||
                     f.task == routing::task_type::tool_choice ||
                     f.task == routing::task_type::safety;
  f.expected_output_tokens = request.expected_output_tokens.value_or(
      device_task ? config_.expected_tokens_device_task : config_.cloud_max_tokens);
  size_t input_bytes = request.text.size() + config_.system_prompt.size();
  for (const turn& t : request.history) input_bytes += t.content.size();
  f.estimated_input_tokens =
      static_cast<int>(input_bytes / 3 + 1);  // ~3 bytes a token (CJK UTF-8 / English)
  int user_turns = 1;
  for (const turn& t : request.history) user_turns += t.role == "user";
  f.turn_count = user_turns;
  f.pii = out.pii;
  for (const auto& spans : history_pii) f.pii.insert(f.pii.end(), spans.begin(), spans.end());
  f.network.online = online_.load();
  f.network.circuit_open = transport_.circuit() == transport::circuit_state::open;
  f.override_route = request.override_route;
  f.user_id = request.user_id;
  f.user_never_send = request.user_never_send;
  out.decision = policy_.decide(f);
  out.degraded = out.decision.degraded;

  if (out.decision.target == routing::route::edge) {
    answer_on_edge(request, out);
    finish(out, start, f.task);
    return out;
  }

  // 3-4. The cloud, with the edge's findings; redacted first when the decision says so.
  transport::chat_request cloud;
  cloud.model = config_.cloud_model;
  cloud.max_tokens = config_.cloud_max_tokens;
  cloud.extra = config_.cloud_extra;
  cloud.stream = static_cast<bool>(request.on_delta);
  if (!config_.system_prompt.empty())
    cloud.messages.push_back({"system", config_.system_prompt, {}, {}, {}});
  for (size_t i = 0; i < request.history.size(); ++i) {
    const turn& t = request.history[i];
    cloud.messages.push_back(
        {t.role,
         out.decision.redact ? tasks::redact(t.content, history_pii[i]) : t.content,
         {},
         {},
         {}});
  }
  out.redacted = out.decision.redact && out.decision.pii_found > 0;
  out.sent_text = out.decision.redact ? tasks::redact(request.text, out.pii) : request.text;
  cloud.messages.push_back({"user", out.sent_text, {}, {}, {}});
  cloud.findings.intent = out.intent.label;
  cloud.findings.confidence = out.intent.confidence;
  cloud.findings.rewritten_query =
      out.decision.redact ? tasks::redact(out.rewritten_query, config_.pii) : out.rewritten_query;
  cloud.findings.task = std::string(routing::to_string(f.task));
  cloud.findings.route_reason = out.decision.rule;
  if (!request.retrieval_hint.empty()) {
    cloud.findings.retrieval_hint = request.retrieval_hint;
  } else if (auto it = config_.retrieval_hints.find(out.intent.label);
             it != config_.retrieval_hints.end()) {
    cloud.findings.retrieval_hint = it->second;
  }
  if (out.decision.redact)
    cloud.findings.retrieval_hint = tasks::redact(cloud.findings.retrieval_hint, config_.pii);

  transport::call_options options;
  options.cancel = request.cancel;
  options.total_timeout = config_.cloud_timeout;
  bool shown = false, app_stopped = false;  // cloud text reached the app; the app said stop
  std::string delivered;                    // the cloud text the app was given
  if (request.on_delta)
    options.on_delta = [&](const transport::stream_delta& d) {
      if (d.content.empty()) return true;  // reasoning text and tool-call pieces are not the answer
      shown = true;
      delivered += d.content;
      if (request.on_delta(answer_event{answer_event::kind::delta, d.content, {}, routing::route::cloud}))
        return true;
      app_stopped = true;
      return false;
    };
  const auto cloud_start = clock::now();
  transport::chat_response response;
  try {
    response = transport_.complete(cloud, options);
  } catch (const std::exception& e) {  // a transport should not throw; treat it as a failure
    response.status = transport::call_status::connection_error;
    response.error = std::string("transport threw: ") + e.what();
  }
  out.cloud_ms = ms_between(cloud_start, clock::now());
  out.cloud_status = response.status;
  out.cloud_usage = response.usage;
  double cost = cost_of(response.usage);
  policy_.settle(out.decision, cost);
  if (response.usage.total() > 0)
    telemetry_.record_cloud_usage(
        static_cast<uint64_t>(std::max<int64_t>(response.usage.prompt_tokens, 0)),
        static_cast<uint64_t>(std::max<int64_t>(response.usage.completion_tokens, 0)), cost);
  if (response.ok()) {
    out.answered = true;
    out.route = routing::route::cloud;
    out.answer = response.content;
    if (out.answer.empty() && !response.tool_calls.empty()) {
      nlohmann::json calls = nlohmann::json::array();
      for (const auto& c : response.tool_calls)
        calls.push_back({{"name", c.name}, {"arguments", c.arguments}});
      out.answer = calls.dump();
    }
    if (request.on_delta && out.answer != delivered) {
      // What was shown is not the answer (tool calls only, or a server that sent more in its
      // final message): withdraw it and send the answer whole.
      if (shown)
        request.on_delta(answer_event{answer_event::kind::reset, {},
                                      "the cloud's final answer differs from its stream",
                                      routing::route::cloud});
      request.on_delta(answer_event{answer_event::kind::delta, out.answer, {}, routing::route::cloud});
    }
    finish(out, start, f.task);
    return out;
  }
  if (app_stopped) {
    // The app stopped the stream: what it was given is the answer; nothing falls back.
    out.answered = true;
    out.stopped = true;
    out.route = routing::route::cloud;
    out.answer = delivered;
    finish(out, start, f.task);
    return out;
  }

  // 5. Fallback: the cloud failed; the edge answers and the reason is kept.
  telemetry_.record_cloud_failure();
  out.fallback = true;
  out.fallback_reason = std::string(transport::to_string(response.status)) +
                        (response.error.empty() ? "" : ": " + response.error);
  if (request.on_delta && shown)
    request.on_delta(answer_event{answer_event::kind::reset, {},
                                  "cloud failed (" + out.fallback_reason + "); the edge answers",
                                  routing::route::cloud});
  answer_on_edge(request, out);
  finish(out, start, f.task);
  return out;
}

template <EdgeModel Edge, routing::RoutingPolicy Policy, transport::CloudTransport Transport>
void basic_assistant<Edge, Policy, Transport>::answer_on_edge(const assistant_request& request,
                                                              assistant_response& out) {
  out.route = routing::route::edge;
  auto emit = [&](std::string_view piece) {
    return request.on_delta(answer_event{answer_event::kind::delta, piece, {}, routing::route::edge});
  };
  if (!out.safety.safe) {
    out.answer = config_.refusal;
    out.answered = true;
    if (request.on_delta) emit(out.answer);
    return;
  }
  bool shown = false, app_stopped = false;
  try {
    const auto t0 = clock::now();
    std::lock_guard lock(edge_mutex_);
    edge_answer_request a{out.rewritten_query, out.intent.label, request.history,
                          config_.edge_max_tokens};
    if constexpr (StreamingEdgeModel<Edge>) {
      if (request.on_delta) {
        out.answer = std::string(edge_.answer(a, [&](std::string_view piece) {
          shown = true;
          if (emit(piece)) return true;
          app_stopped = true;
          return false;
        }));
      } else {
        out.answer = std::string(edge_.answer(a));
      }
    } else {
      out.answer = std::string(edge_.answer(a));
      if (request.on_delta && !out.answer.empty()) app_stopped = !emit(out.answer);
    }
    out.answered = true;
    out.stopped = app_stopped;
    out.edge_ms += ms_between(t0, clock::now());
  } catch (const std::exception& e) {
    out.answered = false;
    out.answer.clear();
    out.error = std::string("the edge could not answer: ") + e.what() +
                (out.fallback ? " (after the cloud failed: " + out.fallback_reason + ")" : "");
    if (request.on_delta && shown)
      request.on_delta(answer_event{answer_event::kind::reset, {}, out.error, routing::route::edge});
  }
}

template <EdgeModel Edge, routing::RoutingPolicy Policy, transport::CloudTransport Transport>
void basic_assistant<Edge, Policy, Transport>::finish(assistant_response& out,
                                                      clock::time_point start,
                                                      routing::task_type task) {
  out.latency_ms = ms_between(start, clock::now());
  if (!out.answered) {
    telemetry_.record_error(routing::route::edge);
    return;
  }
  routing::request_outcome o;
  o.served = out.route;
  o.task = task;
  o.fallback = out.fallback;
  o.fallback_reason =
      out.fallback ? std::string(transport::to_string(out.cloud_status)) : std::string();
  o.degraded = out.degraded;
  o.degraded_rule = out.degraded ? out.decision.rule : std::string();
  o.latency_ms = out.latency_ms;
  telemetry_.record(o);
}

// An assistant answering on the given edge with the default policy and the OpenAI-compatible
// transport: `edgecloud::assistant<MyEdge> a(my_edge, transport::openai_transport_config{...});`
template <EdgeModel Edge>
using assistant = basic_assistant<Edge>;

}  // namespace edgecloud
