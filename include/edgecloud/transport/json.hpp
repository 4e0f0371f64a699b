// SPDX-License-Identifier: Apache-2.0
// The one place where transport types meet the OpenAI Chat Completions JSON, both directions:
// the client builds request bodies and reads completions / stream chunks; the server reads
// request bodies and builds completions / chunks. Reading never trusts the peer: every field is
// type-checked, unknown fields are ignored, and a wrong type is reported as a message, never
// an exception escaping to the caller or a crash.
#pragma once

#include <edgecloud/transport/backend.hpp>
#include <edgecloud/transport/types.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

namespace edgecloud::transport {

// Where the edge's findings go: the `edgecloud` body field (default; ignored by vLLM, SGLang,
// llama.cpp), the `X-Edgecloud-Findings` header (for servers that reject unknown fields), or
// nowhere.
enum class findings_placement { body_field, header, none };

inline constexpr std::string_view findings_field = "edgecloud";
inline constexpr std::string_view findings_header = "X-Edgecloud-Findings";

namespace detail {
inline std::string string_field(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}
inline std::int64_t int_field(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return 0;
  return it->get<std::int64_t>();
}
// OpenAI content is a string, null, or an array of parts [{"type":"text","text":"..."}].
inline std::string content_text(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array())
    for (const auto& part : content)
      if (part.is_object() && string_field(part, "type") == "text") out += string_field(part, "text");
  return out;
}
}  // namespace detail

// ---- findings -----------------------------------------------------------------------------

inline nlohmann::json findings_to_json(const edge_findings& f) {
  nlohmann::json j = nlohmann::json::object();
  if (!f.intent.empty()) j["intent"] = f.intent;
  if (f.confidence) j["confidence"] = *f.confidence;
  if (!f.rewritten_query.empty()) j["rewritten_query"] = f.rewritten_query;
  if (!f.retrieval_hint.empty()) j["retrieval_hint"] = f.retrieval_hint;
  if (!f.task.empty()) j["task"] = f.task;
  if (!f.route_reason.empty()) j["route_reason"] = f.route_reason;
  return j;
}

inline edge_findings findings_from_json(const nlohmann::json& j) {
  edge_findings f;
  if (!j.is_object()) return f;
  f.intent = detail::string_field(j, "intent");
  if (auto it = j.find("confidence"); it != j.end() && it->is_number())
    f.confidence = it->get<double>();
  f.rewritten_query = detail::string_field(j, "rewritten_query");
  f.retrieval_hint = detail::string_field(j, "retrieval_hint");
  f.task = detail::string_field(j, "task");
  f.route_reason = detail::string_field(j, "route_reason");
  return f;
}

// ---- messages and tools -------------------------------------------------------------------

inline nlohmann::json tool_call_to_json(const tool_call& c) {
  return {{"id", c.id},
          {"type", "function"},
          {"function", {{"name", c.name}, {"arguments", c.arguments}}}};
}

inline nlohmann::json message_to_json(const message& m) {
  nlohmann::json j = {{"role", m.role}};
  if (m.content.empty() && !m.tool_calls.empty()) j["content"] = nullptr;
  else j["content"] = m.content;
  if (!m.tool_calls.empty()) {
    j["tool_calls"] = nlohmann::json::array();
    for (const auto& c : m.tool_calls) j["tool_calls"].push_back(tool_call_to_json(c));
  }
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
  if (!m.name.empty()) j["name"] = m.name;
  return j;
}

inline std::vector<tool_call> tool_calls_from_json(const nlohmann::json& arr) {
  std::vector<tool_call> out;
  if (!arr.is_array()) return out;
  for (const auto& c : arr) {
    if (!c.is_object()) continue;
    tool_call call;
    call.id = detail::string_field(c, "id");
    if (auto f = c.find("function"); f != c.end() && f->is_object()) {
      call.name = detail::string_field(*f, "name");
      if (auto a = f->find("arguments"); a != f->end())
        call.arguments = a->is_string() ? a->get<std::string>() : a->dump();
    }
    out.push_back(std::move(call));
  }
  return out;
}

inline message message_from_json(const nlohmann::json& j) {
  message m;
  m.role = detail::string_field(j, "role");
  if (j.is_object())
    if (auto it = j.find("content"); it != j.end()) m.content = detail::content_text(*it);
  if (j.is_object())
    if (auto it = j.find("tool_calls"); it != j.end()) m.tool_calls = tool_calls_from_json(*it);
  m.tool_call_id = detail::string_field(j, "tool_call_id");
  m.name = detail::string_field(j, "name");
  return m;
}

inline nlohmann::json tool_to_json(const tool_definition& t) {
  nlohmann::json fn = {{"name", t.name}, {"parameters", t.parameters}};
  if (!t.description.empty()) fn["description"] = t.description;
  return {{"type", "function"}, {"function", std::move(fn)}};
}

// ---- request body (client writes, server reads) -------------------------------------------

inline nlohmann::json request_to_json(const chat_request& req, const std::string& default_model,
                                      findings_placement placement, bool stream_usage) {
  nlohmann::json body = nlohmann::json::object();
  if (req.extra.is_object())
    for (const auto& [k, v] : req.extra.items()) body[k] = v;
  body["model"] = req.model.empty() ? default_model : req.model;
  body["messages"] = nlohmann::json::array();
  for (const auto& m : req.messages) body["messages"].push_back(message_to_json(m));
  if (!req.tools.empty()) {
    body["tools"] = nlohmann::json::array();
    for (const auto& t : req.tools) body["tools"].push_back(tool_to_json(t));
  }
  if (req.tool_choice == "auto" || req.tool_choice == "none" || req.tool_choice == "required")
    body["tool_choice"] = req.tool_choice;
  else if (!req.tool_choice.empty())
    body["tool_choice"] = {{"type", "function"}, {"function", {{"name", req.tool_choice}}}};
  if (req.max_tokens) body["max_tokens"] = *req.max_tokens;
  if (req.temperature) body["temperature"] = *req.temperature;
  if (req.top_p) body["top_p"] = *req.top_p;
  if (!req.stop.empty()) body["stop"] = req.stop;
  if (req.seed) body["seed"] = *req.seed;
  if (req.n != 1) body["n"] = req.n;
  if (!req.response_format.empty()) body["response_format"] = {{"type", req.response_format}};
  if (req.lora) {
    body["lora"] = nlohmann::json::array();
    for (const auto& l : *req.lora) body["lora"].push_back({{"id", l.id}, {"scale", l.scale}});
  }
  body["stream"] = req.stream;
  if (req.stream && stream_usage) body["stream_options"] = {{"include_usage", true}};
  if (placement == findings_placement::body_field && !req.findings.empty())
    body[std::string(findings_field)] = findings_to_json(req.findings);
  return body;
}

// llama.cpp's adapter list [{"id": 0, "scale": 1.0}, ...] (per request, or POST
// /lora-adapters): an error message, empty on success. Ids are checked against the loaded
// adapters by the server; here only the form: integer ids, finite number scales.
inline std::string lora_list_from_json(const nlohmann::json& j, std::vector<lora_choice>& out) {
  if (!j.is_array()) return "'lora' must be an array of {\"id\": N, \"scale\": S}";
  for (const auto& e : j) {
    auto id = e.is_object() ? e.find("id") : e.end();
    auto scale = e.is_object() ? e.find("scale") : e.end();
    if (!e.is_object() || id == e.end() || !id->is_number_integer() || scale == e.end() ||
        !scale->is_number())
      return "each 'lora' entry needs an integer 'id' and a number 'scale'";
    const double s = scale->get<double>();
    if (!std::isfinite(s) || std::fabs(s) > 1e4)
      return "'lora' scale " + scale->dump() + " is not a finite number with |scale| <= 1e4";
    out.push_back({id->get<std::int64_t>(), s});
  }
  return {};
}

// Reads a request body as a server; returns an error message (empty on success) instead of
// throwing, so the server can answer 400 with it.
// Reads a chat completion request the way the OpenAI API validates it: every field read is
// checked (type and range) and a bad one is an error naming it, never silently dropped or
// truncated. Returns "" or the problem; `param`, when given, receives the offending field
// (OpenAI's error.param). Accepted but outside what a server may support (n > 1, sampling,
// response_format) is for the server to refuse, not for this reader.
inline std::string request_from_json(const nlohmann::json& body, chat_request& req,
                                     std::string* param = nullptr) {
  const auto bad = [&](const char* field, std::string message) {
    if (param) *param = field;
    return message;
  };
  if (!body.is_object()) return "request body must be a JSON object";
  auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array() || msgs->empty())
    return bad("messages", "'messages' must be a non-empty array");
  for (const auto& m : *msgs) {
    if (!m.is_object()) return bad("messages", "each message must be an object");
    req.messages.push_back(message_from_json(m));
    if (req.messages.back().role.empty()) return bad("messages", "each message needs a 'role'");
  }
  if (auto m = body.find("model"); m != body.end() && !m->is_null() && !m->is_string())
    return bad("model", "'model' must be a string");
  req.model = detail::string_field(body, "model");
  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return bad("tools", "'tools' must be an array of tool definitions");
    for (const auto& t : *tools) {
      auto fn = t.is_object() ? t.find("function") : t.end();
      if (!t.is_object() || fn == t.end() || !fn->is_object()) return bad("tools", "malformed tool definition");
      if (auto ty = t.find("type"); ty != t.end() && *ty != "function")
        return bad("tools", "tool type must be \"function\"");
      tool_definition def;
      def.name = detail::string_field(*fn, "name");
      if (def.name.empty()) return bad("tools", "each tool function needs a non-empty 'name'");
      def.description = detail::string_field(*fn, "description");
      if (auto p = fn->find("parameters"); p != fn->end()) {
        if (!p->is_object()) return bad("tools", "tool 'parameters' must be a JSON Schema object");
        def.parameters = *p;
      }
      req.tools.push_back(std::move(def));
    }
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (tc->is_string()) {
      req.tool_choice = tc->get<std::string>();
      if (req.tool_choice != "none" && req.tool_choice != "auto" && req.tool_choice != "required")
        return bad("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or a function");
    } else if (tc->is_object() && tc->contains("function") && (*tc)["function"].is_object()) {
      req.tool_choice = detail::string_field((*tc)["function"], "name");
      if (req.tool_choice.empty()) return bad("tool_choice", "'tool_choice' names no function");
    } else {
      return bad("tool_choice", "'tool_choice' must be a string or {\"type\": \"function\", ...}");
    }
  }
  // A number field: absent/null → nothing; otherwise a number in [lo, hi] ((lo, hi] when
  // open_low; integral if asked).
  std::string problem;
  const auto number = [&](const char* key, double lo, double hi, bool integral,
                          bool open_low = false) -> std::optional<double> {
    auto it = body.find(key);
    if (it == body.end() || it->is_null() || !problem.empty()) return std::nullopt;
    if (!it->is_number() || (integral && !it->is_number_integer() &&
                             it->get<double>() != std::floor(it->get<double>()))) {
      problem = bad(key, std::string("'") + key + "' must be " + (integral ? "an integer" : "a number"));
      return std::nullopt;
    }
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi) || (open_low && v == lo)) {
      const auto bound = [&](double b) {
        return integral ? std::to_string(static_cast<long long>(b)) : nlohmann::json(b).dump();
      };
      problem = bad(key, std::string("'") + key + "' must be in " + (open_low ? "(" : "[") + bound(lo) +
                             ", " + bound(hi) +
                             "], got " + it->dump());
      return std::nullopt;
    }
    return v;
  };
  if (auto v = number("max_tokens", 1, 1 << 30, true)) req.max_tokens = static_cast<int>(*v);
  if (auto v = number("max_completion_tokens", 1, 1 << 30, true)) req.max_tokens = static_cast<int>(*v);
  req.temperature = number("temperature", 0, 2, false);
  req.top_p = number("top_p", 0, 1, false, /*open_low=*/true);
  if (auto v = number("seed", -9.2e18, 9.2e18, true)) req.seed = static_cast<std::int64_t>(*v);
  if (auto v = number("n", 1, 128, true)) req.n = static_cast<int>(*v);
  if (!problem.empty()) return problem;
  if (auto s = body.find("stop"); s != body.end() && !s->is_null()) {
    if (s->is_string()) {
      req.stop.push_back(s->get<std::string>());
    } else if (s->is_array()) {
      if (s->size() > 4) return bad("stop", "'stop' holds at most 4 sequences");
      for (const auto& x : *s) {
        if (!x.is_string()) return bad("stop", "'stop' must be a string or an array of strings");
        req.stop.push_back(x.get<std::string>());
      }
    } else {
      return bad("stop", "'stop' must be a string or an array of strings");
    }
    for (const auto& x : req.stop)
      if (x.empty()) return bad("stop", "'stop' sequences must not be empty");
  }
  if (auto f = body.find("response_format"); f != body.end() && !f->is_null()) {
    const std::string type = f->is_object() ? detail::string_field(*f, "type") : "";
    if (type != "text" && type != "json_object" && type != "json_schema")
      return bad("response_format", "'response_format' must be {\"type\": \"text\" | \"json_object\" | \"json_schema\"}");
    req.response_format = type;
  }
  if (auto s = body.find("stream"); s != body.end() && !s->is_null()) {
    if (!s->is_boolean()) return bad("stream", "'stream' must be true or false");
    req.stream = s->get<bool>();
  }
  // vLLM's and SGLang's chat_template_kwargs (e.g. {"enable_thinking": true} for Qwen3), kept
  // for the backend in `extra`.
  if (auto k = body.find("chat_template_kwargs"); k != body.end() && !k->is_null()) {
    if (!k->is_object()) return bad("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    req.extra["chat_template_kwargs"] = *k;
  }
  if (auto f = body.find(findings_field); f != body.end()) req.findings = findings_from_json(*f);
  if (auto l = body.find("lora"); l != body.end()) {
    auto lp = lora_list_from_json(*l, req.lora.emplace());
    if (!lp.empty()) return bad("lora", lp);
  }
  return {};
}

// ---- responses (server writes, client reads) ----------------------------------------------

// The `error` object of an OpenAI error body, or the first 200 bytes of an unknown body.
inline std::string error_message_from_body(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_string()) return e->get<std::string>();
      if (auto msg = detail::string_field(*e, "message"); !msg.empty()) return msg;
    }
    if (auto msg = detail::string_field(j, "message"); !msg.empty()) return msg;
  }
  std::string s(body.substr(0, 200));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

inline void usage_from_json(const nlohmann::json& u, token_usage& usage) {
  if (!u.is_object()) return;
  usage.prompt_tokens = detail::int_field(u, "prompt_tokens");
  usage.completion_tokens = detail::int_field(u, "completion_tokens");
}

// Fills `out` from a non-streamed completion; returns an error message or "" on success.
inline std::string completion_from_json(const nlohmann::json& j, chat_response& out) {
  if (!j.is_object()) return "completion is not a JSON object";
  if (j.contains("error")) return "server error: " + error_message_from_body(j.dump());
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty())
    return "completion has no 'choices'";
  const auto& choice = (*choices)[0];
  auto msg = choice.is_object() ? choice.find("message") : choice.end();
  if (!choice.is_object() || msg == choice.end() || !msg->is_object())
    return "completion choice has no 'message' object";
  out.id = detail::string_field(j, "id");
  out.model = detail::string_field(j, "model");
  if (auto c = msg->find("content"); c != msg->end()) out.content = detail::content_text(*c);
  out.reasoning_content = detail::string_field(*msg, "reasoning_content");
  if (auto tc = msg->find("tool_calls"); tc != msg->end()) out.tool_calls = tool_calls_from_json(*tc);
  out.finish_reason = detail::string_field(choice, "finish_reason");
  if (auto u = j.find("usage"); u != j.end()) usage_from_json(*u, out.usage);
  return {};
}

// Accumulates streamed chunks (`chat.completion.chunk`) into a response. Tool-call deltas are
// merged by their `index` (the first delta of a call brings id and name, later ones append to
// `arguments`), so deltas of several calls may interleave. A chunk whose `id` differs from the
// first chunk's is another completion interleaved into this stream: a protocol error.
class stream_accumulator {
 public:
  // Applies one `data:` payload (already known not to be "[DONE]"). Returns an error message or
  // "" on success; `delta` receives what this chunk added, for the app's callback.
  std::string apply(std::string_view data, chat_response& out, std::string& content_delta,
                    std::string& reasoning_delta, int& touched_tool_call) {
    content_delta.clear();
    reasoning_delta.clear();
    touched_tool_call = -1;
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return "malformed JSON in stream chunk: " + error_message_from_body(data);
    if (j.contains("error")) return "server error in stream: " + error_message_from_body(data);
    const std::string id = detail::string_field(j, "id");
    if (!id.empty()) {
      if (first_id_.empty()) first_id_ = id;
      else if (id != first_id_)
        return "interleaved stream: chunk of completion '" + id + "' inside '" + first_id_ + "'";
    }
    out.id = first_id_;
    if (auto m = detail::string_field(j, "model"); !m.empty()) out.model = m;
    if (auto u = j.find("usage"); u != j.end() && u->is_object()) usage_from_json(*u, out.usage);
    auto choices = j.find("choices");
    if (choices == j.end()) return {};
    if (!choices->is_array()) return "stream chunk 'choices' is not an array";
    for (const auto& choice : *choices) {
      if (!choice.is_object()) return "stream chunk choice is not an object";
      if (detail::int_field(choice, "index") != 0) continue;  // n = 1: other choices ignored
      if (auto fr = detail::string_field(choice, "finish_reason"); !fr.empty())
        out.finish_reason = fr;
      auto delta = choice.find("delta");
      if (delta == choice.end() || !delta->is_object()) continue;
      if (auto c = delta->find("content"); c != delta->end() && c->is_string()) {
        content_delta = c->get<std::string>();
        out.content += content_delta;
      }
      if (auto r = detail::string_field(*delta, "reasoning_content"); !r.empty()) {
        reasoning_delta = r;
        out.reasoning_content += r;
      }
      if (auto tcs = delta->find("tool_calls"); tcs != delta->end() && tcs->is_array()) {
        for (const auto& tc : *tcs) {
          if (!tc.is_object()) return "stream tool_call delta is not an object";
          auto idx_it = tc.find("index");
          std::int64_t index = (idx_it != tc.end() && idx_it->is_number_integer())
                                   ? idx_it->get<std::int64_t>()
                                   : static_cast<std::int64_t>(slots_.size());
          if (index < 0 || index > 1024) return "stream tool_call index out of range";
          auto [slot, inserted] = slots_.try_emplace(index, out.tool_calls.size());
          if (inserted) out.tool_calls.emplace_back();
          tool_call& call = out.tool_calls[slot->second];
          if (auto v = detail::string_field(tc, "id"); !v.empty()) call.id = v;
          if (auto f = tc.find("function"); f != tc.end() && f->is_object()) {
            if (auto v = detail::string_field(*f, "name"); !v.empty()) call.name += v;
            call.arguments += detail::string_field(*f, "arguments");
          }
          touched_tool_call = static_cast<int>(slot->second);
        }
      }
    }
    return {};
  }

 private:
  std::string first_id_;
  std::map<std::int64_t, std::size_t> slots_;  // tool_call index → position in out.tool_calls
};

// ---- server side: completions and chunks ----------------------------------------------------

inline nlohmann::json usage_to_json(const token_usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total()}};
}

inline nlohmann::json completion_to_json(const std::string& id, const std::string& model,
                                         std::int64_t created, const generation_result& g) {
  nlohmann::json msg = {{"role", "assistant"}};
  if (g.content.empty() && !g.tool_calls.empty()) msg["content"] = nullptr;
  else msg["content"] = g.content;
  if (!g.tool_calls.empty()) {
    msg["tool_calls"] = nlohmann::json::array();
    for (const auto& c : g.tool_calls) msg["tool_calls"].push_back(tool_call_to_json(c));
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", {{{"index", 0}, {"message", std::move(msg)}, {"finish_reason", g.finish_reason}}}},
          {"usage", usage_to_json(g.usage)}};
}

// One `chat.completion.chunk`; `delta` is the choice's delta object, `finish_reason` empty
// while the answer goes on.
inline nlohmann::json chunk_to_json(const std::string& id, const std::string& model,
                                    std::int64_t created, nlohmann::json delta,
                                    const std::string& finish_reason = {}) {
  nlohmann::json choice = {{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(finish_reason);
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", nlohmann::json::array({std::move(choice)})}};
}

inline nlohmann::json error_to_json(const std::string& message, const std::string& type,
                                    const std::string& param = {}) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", nullptr}}}};
}

}  // namespace edgecloud::transport
