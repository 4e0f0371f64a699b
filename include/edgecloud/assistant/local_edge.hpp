// SPDX-License-Identifier: Apache-2.0
// local_edge: the on-device engine as the assistant's EdgeModel, owning everything it needs —
// the GGUF model (mapping), its tokenizer, the task engine (session, KV and prefix caches) and
// the tasks layer's engine_edge adaptor over them — so an assistant is one line:
//
//   auto a = edgecloud::make_assistant("qwen3-0.6b-q8_0.gguf", "http://127.0.0.1:8080/v1");
//   auto r = a.ask("明天北京天气怎么样？");
//
// Language: with `auto_language` (default) each call picks the Chinese task prompts when the
// text holds CJK characters and the English ones otherwise.
//
// Ownership: owns the parts through one heap block, so a local_edge is cheap to move and the
// engine's borrowed references (model, tokenizer) never dangle. Not thread-safe, like the
// engine; basic_assistant serialises every call into its edge.
#pragma once

#include <edgecloud/assistant/edge_model.hpp>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/tasks/engine.hpp>
#include <edgecloud/tasks/engine_edge.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <edgecloud/text/vocab.hpp>

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace edgecloud {

struct local_edge_config {
  size_t threads = 0;     // 0 = every hardware thread
  size_t context = 2048;  // KV positions of the task session
  bool auto_language = true;
  tasks::engine_edge_config tasks{};     // per-task options (temperature, budgets, prompts)
  std::filesystem::path tokenizer_json;  // empty: the GGUF's own tokenizer.ggml.* keys
  // LoRA adapters (model/lora.hpp) every task runs under unless its tasks config names its own
  // (tasks::*_config::lora); loaded and checked against the model at construction.
  std::vector<model::lora_file> lora;
  // map (default) or read the model and adapter files into private memory (model/mapped_file.hpp)
  file_access access = file_access::map;
};

// True when the UTF-8 text holds a CJK ideograph, kana or hangul (code points U+2E80..U+D7AF,
// U+F900..U+FAFF, U+FF00..U+FFEF) — enough to choose the Chinese prompts.
inline bool has_cjk(std::string_view s) noexcept {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0xE0 || c > 0xEF || i + 2 >= s.size()) continue;  // 3-byte sequences only
    const uint32_t cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                        (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    if ((cp >= 0x2E80 && cp <= 0xD7AF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFFEF))
      return true;
  }
  return false;
}

class local_edge {
 public:
  explicit local_edge(const std::filesystem::path& gguf, local_edge_config config = {}) {
    auto model = model::qwen3::load(gguf, config.access);
    auto vocab = config.tokenizer_json.empty() ? generate::read_gguf_vocab(model.file())
                                               : text::read_hf_tokenizer(config.tokenizer_json);
    parts_ = std::make_unique<parts>(std::move(model), text::tokenizer(vocab), std::move(config));
  }

  edge_intent classify_intent(std::string_view text, std::span<const std::string> labels) {
    language_for(text);
    return parts_->edge.classify_intent(text, labels);
  }
  std::string rewrite(std::string_view text, std::span<const turn> history) {
    language_for(text);
    return parts_->edge.rewrite(text, history);
  }
  edge_safety check_safety(std::string_view text) {
    language_for(text);
    return parts_->edge.check_safety(text);
  }
  std::string answer(const edge_answer_request& request) {
    language_for(request.query);
    return parts_->edge.answer(request);
  }
  std::string answer(const edge_answer_request& request, const text_sink& sink) {
    language_for(request.query);
    return parts_->edge.answer(request, sink);
  }

  const model::qwen3& model() const noexcept { return parts_->model; }
  const text::tokenizer& tokenizer() const noexcept { return parts_->tok; }
  tasks::engine& engine() noexcept { return parts_->engine; }
  tasks::engine_edge_config& tasks_config() noexcept { return parts_->edge.config(); }
  // True for files written by `edgecloud make-model` (general.name "random-..."): their
  // intents, verdicts and answers are noise, only the timings mean something.
  bool random_weights() const {
    auto name = parts_->model.file().get_string("general.name");
    return name && name->starts_with("random-");
  }

 private:
  struct parts {
    parts(model::qwen3 m, text::tokenizer t, local_edge_config c)
        : model(std::move(m)), tok(std::move(t)), config(std::move(c)),
          engine(model, tok, engine_config_of(config)), edge(engine, config.tasks) {
      const auto adapters = model::load_lora_files(config.lora, model, config.access);
      model::lora_set set;
      for (size_t i = 0; i < adapters.size(); ++i) set.push_back({adapters[i], config.lora[i].scale});
      engine.set_adapters(std::move(set));
    }
    static tasks::engine_config engine_config_of(const local_edge_config& c) {
      tasks::engine_config e;
      e.runner.session.threads = c.threads;
      e.runner.session.context = c.context;
      return e;
    }
    model::qwen3 model;
    text::tokenizer tok;
    local_edge_config config;
    tasks::engine engine;
    tasks::engine_edge edge;
  };

  void language_for(std::string_view text) {
    if (!parts_->config.auto_language) return;
    const auto lang = has_cjk(text) ? tasks::language::zh : tasks::language::en;
    auto& c = parts_->edge.config();
    c.intent.lang = c.rewrite.lang = c.safety.lang = c.answer.lang = lang;
  }

  std::unique_ptr<parts> parts_;
};

static_assert(StreamingEdgeModel<local_edge>);

}  // namespace edgecloud
