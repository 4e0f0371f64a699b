// SPDX-License-Identifier: Apache-2.0
// engine_backend: the SDK's own engine behind an OpenAI-compatible endpoint — the generation
// callback (transport/backend.hpp) that `edgecloud serve --model M` hands to openai_server.
//
//   auto backend = edgecloud::engine_backend::load("qwen3-0.6b-q8_0.gguf", {.threads = 2});
//   edgecloud::transport::openai_server server({.port = 8080, .models = {"qwen3-0.6b"}}, backend);
//
// Per request: the chat messages are rendered with the native Qwen3 template (thinking off
// unless the request's chat_template_kwargs.enable_thinking is true, as vLLM reads it), encoded
// with control tokens only where the template wrote them, then decoded greedily until
// <|im_end|> / <|endoftext|> or max_tokens; each token's text is streamed to the sink as soon as
// it forms whole UTF-8 characters (text::stream_decoder). Decoding is greedy: the
// server in front (openai_server, `sampling` off) refuses temperature > 0 / top_p < 1; a seed is
// accepted (the output is reproducible anyway). `stop` sequences end the answer before them.
// Tools are rendered into the prompt (the template's <tools> block); the answer's <tool_call>
// blocks become tool_calls (finish_reason "tool_calls", text::parse_tool_calls), captured rather
// than streamed as text; malformed ones stay text.
//
// The KV cache keeps the last prompt, so a request sharing its beginning (the same system
// prompt, an earlier turn of the same conversation) only computes the new tokens.
//
// LoRA: config.lora adapters are loaded (and checked against the model) with it; ids are their
// positions, as lora_adapters() tells the server (GET /lora-adapters). A request runs under the
// scales in its resolved chat_request::lora (openai_server fills it: the request's "lora", or
// the server-wide scales), or under the configured scales when it has none. Changing the set
// drops the KV prefix kept from the last request: it was computed under the old set.
//
// Hot update: replace_model(path, sha256) and replace_adapter(id, path, sha256) swap a new file
// in while requests run. The new file is verified first (the optional expected sha256 of its
// bytes; it parses; an adapter matches the model, and on a model swap every adapter matches the
// new model) and loaded beside the old one; only then is it swapped in, between requests: a
// request in flight finishes on what it started with (it holds the old state / the old adapter
// through shared_ptrs, freed when it ends). A failed verification throws model_error saying why
// and changes nothing. Updates are serialised with each other. Deliver files by writing a
// temporary file and renaming it over the old name (docs/lora.md, "Hot update").
//
// Concurrency: one session, so requests are served one at a time (a mutex); the server's other
// worker threads wait. Ownership: the backend owns the model, tokenizer and session through a
// shared state, so copies of the callback (std::function copies it) share one engine.
#pragma once

#include <edgecloud/error.hpp>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/sha256.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <edgecloud/text/answer_filter.hpp>
#include <edgecloud/text/chat_template.hpp>
#include <edgecloud/text/stream_decoder.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <edgecloud/transport/backend.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace edgecloud {

struct engine_backend_config {
  size_t threads = 0;             // 0 = every hardware thread
  size_t context = 2048;          // KV positions (prompt + answer)
  int default_max_tokens = 256;   // when the request gives none
  std::filesystem::path tokenizer_json;  // empty: the GGUF's own tokenizer.ggml.* keys
  std::vector<model::lora_file> lora;    // LoRA adapters, ids 0..n-1 in this order
  file_access access = file_access::map; // or read the files into memory (model/mapped_file.hpp)
};

class engine_backend {
 public:
  static engine_backend load(const std::filesystem::path& gguf, const engine_backend_config& config = {}) {
    auto model = model::qwen3::load(gguf, config.access);
    auto vocab = config.tokenizer_json.empty() ? generate::read_gguf_vocab(model.file())
                                               : text::read_hf_tokenizer(config.tokenizer_json);
    return engine_backend(std::make_shared<holder>(
        std::make_shared<state>(std::move(model), text::tokenizer(vocab), config)));
  }

  transport::generation_result operator()(const transport::chat_request& request,
                                          const transport::delta_sink& on_delta) const {
    return holder_->current()->generate(request, on_delta);  // this request's state, to the end
  }

  // The current model and tokenizer: valid until the next replace_model.
  const model::qwen3& model() const noexcept { return holder_->current()->model; }
  // The loaded adapters as openai_server_config::lora_adapters wants them.
  std::vector<transport::lora_adapter_info> lora_adapters() const {
    const auto st = holder_->current();
    std::lock_guard lock(st->mutex);
    std::vector<transport::lora_adapter_info> out;
    for (size_t i = 0; i < st->adapters.size(); ++i)
      out.push_back({static_cast<int64_t>(i), st->adapters[i]->name(),
                     static_cast<double>(st->config.lora[i].scale)});
    return out;
  }

  // Replaces the model (and its tokenizer) by `path`, see "Hot update" above. The adapters are
  // reloaded from their files against the new model.
  void replace_model(const std::filesystem::path& path, const std::string& expected_sha256 = {}) {
    std::lock_guard update(holder_->update_mutex);
    verify_digest(path, expected_sha256);
    const auto old = holder_->current();
    engine_backend_config c;
    {
      std::lock_guard lock(old->mutex);
      c = old->config;
    }
    auto next = load(path, c).holder_->current();  // beside the old; throws: the old stays
    std::lock_guard lock(holder_->mutex);
    holder_->state_ = std::move(next);
  }

  // Replaces adapter `id` by the file at `path` (same id, same scale), see "Hot update" above.
  void replace_adapter(size_t id, const std::filesystem::path& path,
                       const std::string& expected_sha256 = {}) {
    std::lock_guard update(holder_->update_mutex);
    const auto st = holder_->current();
    if (id >= st->adapters.size())
      throw config_error("replace_adapter: no adapter " + std::to_string(id) + " (the backend has " +
                         std::to_string(st->adapters.size()) + ")");
    verify_digest(path, expected_sha256);
    auto next = model::lora_adapter::load(path, st->model, st->config.access);  // beside the old; throws: old stays
    std::lock_guard lock(st->mutex);  // between requests: the one in flight ends on the old
    st->adapters[id] = std::move(next);
    st->config.lora[id].path = path;
  }
  const text::tokenizer& tokenizer() const noexcept { return holder_->current()->tok; }

 private:
  struct state {
    state(model::qwen3 m, text::tokenizer t, const engine_backend_config& c)
        : model(std::move(m)), tok(std::move(t)), config(c),
          session(model, {.context = c.context, .threads = c.threads}),
          adapters(model::load_lora_files(c.lora, model, c.access)) {
      for (const char* name : {"<|im_end|>", "<|endoftext|>"})
        if (auto id = tok.find_token(name)) stops.push_back(*id);
      if (stops.empty()) throw model_error("the tokenizer has no <|im_end|> token (not a Qwen chat model)");
    }

    transport::generation_result generate(const transport::chat_request& request,
                                          const transport::delta_sink& on_delta) {
      std::vector<text::chat_message> turns;
      for (const auto& m : request.messages) {
        if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
          throw config_error("message role '" + m.role + "' is not one of system, user, assistant, tool");
        text::chat_message& t = turns.emplace_back(text::chat_message{.role = m.role, .content = m.content});
        for (const auto& c : m.tool_calls) {  // an earlier turn's calls: the template renders them back
          auto args = text::ordered_json::parse(c.arguments, nullptr, false);
          t.tool_calls.push_back({c.name, args.is_object() ? args : text::ordered_json(c.arguments)});
        }
      }
      const text::ordered_json messages = text::to_json(turns);
      if (messages.empty()) throw config_error("the request has no messages");
      text::ordered_json tools = nullptr;
      if (!request.tools.empty()) {
        tools = text::ordered_json::array();
        for (const auto& t : request.tools)
          tools.push_back({{"type", "function"},
                           {"function", {{"name", t.name}, {"description", t.description},
                                         {"parameters", text::ordered_json::parse(t.parameters.dump())}}}});
      }
      text::chat_options options;
      options.enable_thinking = false;
      if (auto kw = request.extra.find("chat_template_kwargs"); kw != request.extra.end() && kw->is_object())
        if (auto th = kw->find("enable_thinking"); th != kw->end() && th->is_boolean())
          options.enable_thinking = th->get<bool>();
      const auto prompt = text::render_qwen3(messages, tools, options);
      const std::vector<int32_t> ids = text::encode_chat(tok, prompt);

      std::lock_guard lock(mutex);  // one request at a time; adapters swap between them
      model::lora_set set;
      if (request.lora) {
        for (const auto& l : *request.lora) {
          if (l.id < 0 || static_cast<size_t>(l.id) >= adapters.size())
            throw config_error("unknown LoRA adapter id " + std::to_string(l.id));
          set.push_back({adapters[static_cast<size_t>(l.id)], static_cast<float>(l.scale)});
        }
      } else {
        for (size_t i = 0; i < adapters.size(); ++i) set.push_back({adapters[i], config.lora[i].scale});
      }

      if (model::make_lora_key(set) != session.adapter_key()) {
        session.set_adapters(set);  // drops the positions computed under the old set
        cached.clear();
      }
      const size_t ctx = session.config().context;
      if (ids.size() + 1 > ctx)
        throw capacity_error("the prompt is " + std::to_string(ids.size()) + " tokens; the server's context is " +
                             std::to_string(ctx) + " (serve --context N)");
      size_t max_tokens = static_cast<size_t>(
          std::max(0, request.max_tokens ? *request.max_tokens : config.default_max_tokens));
      max_tokens = std::min(max_tokens, ctx - ids.size());

      // Keep the longest prefix the cache already holds; recompute at least one token so the
      // last position's logits exist.
      size_t keep = 0;
      while (keep < cached.size() && keep < ids.size() && cached[keep] == ids[keep]) ++keep;
      keep = std::min(keep, ids.size() - 1);
      session.truncate(keep);
      cached.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep));

      transport::generation_result result;
      result.usage.prompt_tokens = static_cast<int64_t>(ids.size());
      text::stream_decoder decoder(tok, /*skip_control=*/true);
      bool client_gone = false, stopped = false;
      auto send = [&](std::string_view text) {
        if (text.empty() || client_gone) return;
        result.content.append(text);
        if (on_delta && !on_delta(text)) client_gone = true;
      };
      // `stop` sequences and, with tools, the <tool_call> blocks: text::answer_filter decides
      // what of the answer may be streamed (never text past a stop, never a call as text).
      text::answer_filter filter(request.stop, !request.tools.empty() && request.tool_choice != "none");
      auto emit = [&](std::string_view piece) {
        if (!piece.empty() && !client_gone) filter.push(piece, send);
        stopped = filter.stopped();
      };
      std::vector<int32_t> out;
      if (max_tokens > 0) {
        out = session.generate(std::span<const int32_t>(ids).subspan(keep), max_tokens, stops, [&](int32_t t) {
          emit(decoder.push(t));
          return !client_gone && !stopped;
        });
      }
      cached = ids;                 // the prompt is in the cache; forget the answer's positions
      session.truncate(ids.size());
      emit(decoder.flush());
      filter.finish(send);
      if (filter.capturing()) {
        text::parsed_tool_calls calls = text::parse_tool_calls(filter.captured());
        if (calls.calls.empty()) send(filter.captured());  // malformed calls: shown as text, not run
        for (size_t i = 0; i < calls.calls.size(); ++i) {
          const auto& c = calls.calls[i];
          result.tool_calls.push_back({"call_" + std::to_string(i), c.name,
                                       c.arguments.is_string() ? c.arguments.get<std::string>()
                                                               : c.arguments.dump()});
        }
      }
      result.usage.completion_tokens = static_cast<int64_t>(out.size());
      result.finish_reason =
          !result.tool_calls.empty() ? "tool_calls"
          : !stopped && (max_tokens == 0 || (out.size() >= max_tokens && !client_gone)) ? "length"
                                                                                      : "stop";
      return result;
    }

    model::qwen3 model;
    text::tokenizer tok;
    engine_backend_config config;
    model::session session;
    std::vector<int32_t> stops;
    std::vector<std::shared_ptr<const model::lora_adapter>> adapters;  // config.lora, loaded
    std::vector<int32_t> cached;  // token ids whose K/V rows the session holds
    std::mutex mutex;
  };

  // The current state, swapped whole by replace_model; copies of the callback share it.
  struct holder {
    explicit holder(std::shared_ptr<state> s) : state_(std::move(s)) {}
    std::shared_ptr<state> current() const {
      std::lock_guard lock(mutex);
      return state_;
    }
    mutable std::mutex mutex;  // guards state_
    std::mutex update_mutex;   // one replacement at a time
    std::shared_ptr<state> state_;
  };

  static void verify_digest(const std::filesystem::path& path, const std::string& expected) {
    if (expected.empty()) return;
    std::string want = expected;
    for (char& ch : want) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const std::string got = model::sha256::of_file(path);
    if (got != want)
      throw model_error(path.string() + ": sha256 is " + got + ", expected " + want +
                        " (incomplete or wrong file); the current one stays in use");
  }

  explicit engine_backend(std::shared_ptr<holder> h) : holder_(std::move(h)) {}
  std::shared_ptr<holder> holder_;
};

}  // namespace edgecloud
