// SPDX-License-Identifier: Apache-2.0
// tasks::engine: the five edge tasks on one model, with always-valid output.
//
//   auto model = edgecloud::model::qwen3::load("qwen3-0.6b-q8_0.gguf");
//   edgecloud::text::tokenizer tok(vocab);                 // e.g. from the GGUF's tokenizer keys
//   edgecloud::tasks::engine edge(model, tok);
//   auto r = edge.classify("明天北京天气怎么样", {.labels = {"weather", "music", "navigation"}});
//   // r.intent == "weather", r.confidence, r.out_of_set
//
// Every request: render the task prompt (config.hpp, chat_prompt.hpp), let the runner reuse the
// cached fixed prefix (model_runner.hpp), then either score the labels (classify) or decode
// under a constraint compiled once per task configuration and cached here:
//   rewrite / summarize: text_constraint (whole UTF-8 characters) ended by <|im_end|>,
//                        within max_tokens + 1 tokens (the end token included);
//   select_tool:         anyOf(tool-call objects, the literal none), tool_call_constraint;
//   check_safety:        the verdict scored first (P({"safe": true) vs P({"safe": false), the
//                        confidence), then decoded under that branch of
//                        anyOf({"safe":true,"reason":"none"}, {"safe":false,"reason":<category>}).
// The automaton guarantees the result parses and satisfies its schema and the budget; nothing
// here depends on the weights behaving.
//
// Ownership: borrows the model and the tokenizer (both must outlive the engine); owns its runner
// (session, KV cache, prefix cache), the vocabulary tries and the compiled constraints. Not
// thread-safe: one engine per thread (the model and tokenizer may be shared).
#pragma once

#include <chrono>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/json_schema.hpp>
#include <edgecloud/generate/token_constraint.hpp>
#include <edgecloud/generate/token_vocabulary.hpp>
#include <edgecloud/tasks/chat_prompt.hpp>
#include <edgecloud/tasks/config.hpp>
#include <edgecloud/tasks/decoding.hpp>
#include <edgecloud/tasks/model_runner.hpp>
#include <edgecloud/tasks/results.hpp>
#include <edgecloud/text/tokenizer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::tasks {

struct engine_config {
  runner_config runner{};
  decode_options decode{};
  size_t max_cached_constraints = 32;  // compiled constraints kept (oldest dropped past this)
};

class engine {
 public:
  engine(const model::qwen3& m, const text::tokenizer& tok, const engine_config& config = {})
      : tok_(&tok), config_(config), runner_(m, config.runner) {
    const auto end = tok.find_token("<|im_end|>");
    if (!end) throw model_error("the tokenizer has no <|im_end|> token (not a Qwen chat model)");
    im_end_ = *end;
    if (tok.size() > runner_.n_vocab())
      throw model_error("the tokenizer has " + std::to_string(tok.size()) +
                        " tokens but the model only " + std::to_string(runner_.n_vocab()) +
                        " logits");
  }

  model_runner& runner() noexcept { return runner_; }

  // The LoRA adapters of every task whose configuration has no `lora` of its own (empty: the
  // base model). A task config's `lora` (even an empty set) replaces them for that task, so one
  // engine runs e.g. intent under one adapter and safety under another on the same base; the
  // prefix cache keeps each set's prefixes apart (model_runner.hpp).
  void set_adapters(model::lora_set set) {
    model::check_lora_set(set);
    adapters_ = std::move(set);
  }
  const model::lora_set& adapters() const noexcept { return adapters_; }
  const text::tokenizer& tokenizer() const noexcept { return *tok_; }
  int32_t end_token() const noexcept { return im_end_; }

  // --- the five tasks ---------------------------------------------------------------------------

  intent_result classify(std::string_view text, const intent_config& c) {
    const auto t0 = clock::now();
    if (c.labels.empty()) throw config_error("classify: no labels");
    std::string list;
    for (const auto& l : c.labels) {
      if (l.empty()) throw config_error("classify: a label is empty");
      list += "- " + l + "\n";
    }
    if (!list.empty()) list.pop_back();
    std::vector<std::vector<int32_t>> seqs;
    size_t longest = 0;
    for (const auto& l : c.labels) {
      auto ids = tok_->encode(l, text::encode_mode::untrusted);
      if (c.end_with_stop_token) ids.push_back(im_end_);
      longest = std::max(longest, ids.size());
      seqs.push_back(std::move(ids));
    }
    const auto prompt =
        render(resolve(c.prompt, task_kind::intent, c.lang), {{"labels", list}}, text, longest);
    const runner_stats before = runner_.stats();
    use_adapters(c.lora);
    runner_.begin(prompt.ids, prompt.fixed);
    const auto s = score_label_choice(runner_, seqs, c.head, c.temperature);
    intent_result r;
    r.index = s.best;
    r.intent = c.labels[s.best];
    r.confidence = s.probabilities[s.best];
    r.out_of_set = s.outside_mass;
    r.labels = c.labels;
    r.probabilities = s.probabilities;
    r.log_probs = s.log_probs;
    r.stats = delta(before, prompt, 0, t0);
    return r;
  }

  text_result rewrite(std::string_view query, const std::vector<chat_message>& history,
                      const rewrite_config& c) {
    const auto t0 = clock::now();
    const bool zh = c.lang == language::zh;
    std::string h;
    const size_t first =
        history.size() > c.max_history_messages ? history.size() - c.max_history_messages : 0;
    for (size_t i = first; i < history.size(); ++i)
      h += history[i].role + ": " + history[i].content + "\n";
    if (h.empty()) h = zh ? "（无）\n" : "(none)\n";
    const auto prompt = render(resolve(c.prompt, task_kind::rewrite, c.lang),
                               {{"max_tokens", std::to_string(c.max_tokens)}, {"history", h}},
                               query, c.max_tokens + 1);
    use_adapters(c.lora);
    return free_text(prompt, false, c.max_tokens, t0);
  }
  text_result rewrite(std::string_view query, const rewrite_config& c = {}) {
    return rewrite(query, {}, c);
  }

  text_result summarize(std::string_view text, const summary_config& c = {}) {
    const auto t0 = clock::now();
    const auto prompt =
        render(resolve(c.prompt, task_kind::summary, c.lang),
               {{"max_tokens", std::to_string(c.max_tokens)}}, text, c.max_tokens + 1);
    use_adapters(c.lora);
    return free_text(prompt, true, c.max_tokens, t0);
  }

  tool_result select_tool(std::string_view text, const tool_config& c) {
    const auto t0 = clock::now();
    const std::string tools_text = c.tools.dump();
    const auto prompt = render(resolve(c.prompt, task_kind::tool_selection, c.lang),
                               {{"tools", tools_text}}, text, c.max_tokens);
    const std::string key = "tool:" + tools_text + json_key(c.json);
    auto& con = constraint(key, -1, [&] {
      return generate::constraint::any_of({generate::tool_call_constraint(c.tools, c.json),
                                           generate::constraint::choice({"none"})});
    });
    const runner_stats before = runner_.stats();
    use_adapters(c.lora);
    runner_.begin(prompt.ids, prompt.fixed);
    const auto g = decode(con, c.max_tokens, "select_tool");
    tool_result r;
    r.raw = g.bytes;
    if (g.bytes != "none") {
      const auto j = nlohmann::ordered_json::parse(g.bytes);  // the automaton makes it parse
      r.none = false;
      r.name = j.at("name").get<std::string>();
      r.arguments = j.at("arguments");
    }
    r.stats = delta(before, prompt, g.tokens.size(), t0);
    return r;
  }

  safety_result check_safety(std::string_view text, const safety_config& c = {}) {
    const auto t0 = clock::now();
    if (c.categories.empty()) throw config_error("check_safety: no categories");
    std::string list;
    for (const auto& cat : c.categories) list += (list.empty() ? "" : ", ") + cat;
    const auto prompt = render(resolve(c.prompt, task_kind::safety, c.lang), {{"categories", list}},
                               text, c.max_tokens);
    // The verdict first: P(`{"safe": true`) against P(`{"safe": false`) -- the shared
    // `{"safe":` costs nothing, the branch one batched pass and two restricted logits. Then the
    // rest is decoded under that verdict's branch of the schema (all forced when safe).
    const std::string key = "safety:" + nlohmann::json(c.categories).dump();
    const nlohmann::ordered_json schema = safety_schema(c);
    auto& safe_con = constraint(
        key + ":safe", -1, [&] { return generate::json_schema_constraint(schema["anyOf"][0]); });
    auto& unsafe_con = constraint(
        key + ":unsafe", -1, [&] { return generate::json_schema_constraint(schema["anyOf"][1]); });
    const runner_stats before = runner_.stats();
    use_adapters(c.lora);
    runner_.begin(prompt.ids, prompt.fixed);
    const std::vector<std::vector<int32_t>> verdicts = {
        tok_->encode("{\"safe\": true", text::encode_mode::trusted),
        tok_->encode("{\"safe\": false", text::encode_mode::trusted)};
    const auto v = score_labels_restricted(runner_, verdicts);
    const bool safe = v.best == 0;
    const auto g = decode(safe ? safe_con : unsafe_con, c.max_tokens, "check_safety");
    safety_result r;
    r.raw = g.bytes;
    const auto j = nlohmann::json::parse(g.bytes);
    r.safe = j.at("safe").get<bool>();
    r.reason = j.at("reason").get<std::string>();
    r.confidence = v.probabilities[safe ? 0 : 1];
    if (c.detect_pii) r.pii = find_pii(text);
    r.stats = delta(before, prompt, g.tokens.size(), t0);
    return r;
  }

  // A short free answer to `query` after the conversation `history` (user/assistant turns, kept
  // in the fixed prefix so the next turn reuses them), valid UTF-8 within max_tokens.
  // With `on_text`, the answer streams as it is decoded (whole characters; false stops it, and
  // the result is then the text streamed so far).
  text_result answer(std::string_view query, const std::vector<chat_message>& history,
                     const answer_config& c = {}, const text_stream& on_text = {}) {
    const auto t0 = clock::now();
    prompt_template p = resolve(c.prompt, task_kind::answer, c.lang);
    const size_t first =
        history.size() > c.max_history_messages ? history.size() - c.max_history_messages : 0;
    p.examples.assign(history.begin() + static_cast<ptrdiff_t>(first), history.end());
    const auto prompt =
        render(p, {{"max_tokens", std::to_string(c.max_tokens)}}, query, c.max_tokens + 1);
    use_adapters(c.lora);
    return free_text(prompt, true, c.max_tokens, t0, on_text);
  }

  // The schema check_safety decodes under.
  static nlohmann::ordered_json safety_schema(const safety_config& c) {
    using json = nlohmann::ordered_json;
    auto object = [](json safe, json reason) {
      return json{{"type", "object"},
                  {"properties", {{"safe", std::move(safe)}, {"reason", std::move(reason)}}},
                  {"required", {"safe", "reason"}},
                  {"additionalProperties", false}};
    };
    return json{{"anyOf",
                 {object({{"const", true}}, {{"const", "none"}}),
                  object({{"const", false}}, {{"enum", c.categories}})}}};
  }

  // Renders a task prompt: system (with vars), few-shot examples, the user turn with {text}
  // (everything before it is the fixed prefix), the generation prompt. When the whole would
  // leave fewer than `reserve` positions of the context free, the end of the user's text is
  // cut (encoded_prompt::dropped_input_tokens says how much); capacity_error when even the
  // prompt without it does not fit.
  encoded_prompt render(const prompt_template& p,
                        const std::vector<std::pair<std::string, std::string>>& vars,
                        std::string_view text, size_t reserve = 0) const {
    const size_t at = p.user.find("{text}");
    if (at == std::string::npos) throw config_error("prompt_template.user must contain {text}");
    auto substitute = [&](std::string s) {
      for (const auto& [k, v] : vars) s = fill_placeholder(std::move(s), k, v);
      return s;
    };
    const std::string system = substitute(p.system), before = substitute(p.user.substr(0, at)),
                      after = substitute(p.user.substr(at + 6));
    return render_task_prompt(*tok_, system, p.examples, {before, text, after}, runner_.context(),
                              reserve);
  }

  // The vocabulary as byte strings (built on first use, ~0.1 s for 151,936 ids).
  const std::shared_ptr<const generate::token_vocabulary>& vocabulary() {
    if (!vocab_) {
      std::vector<std::string> bytes(runner_.n_vocab());
      for (size_t id = 0; id < tok_->size(); ++id) {
        const auto i = static_cast<int32_t>(id);
        if (!tok_->is_added(i)) bytes[id] = std::string(tok_->token_bytes(i));
      }
      vocab_ = std::make_shared<const generate::token_vocabulary>(std::move(bytes));
    }
    return vocab_;
  }

 private:
  using clock = std::chrono::steady_clock;

  static const prompt_template& resolve(const std::optional<prompt_template>& p, task_kind k,
                                        language lang) {
    static const prompt_template defaults[6][2] = {
        {default_prompt(task_kind::intent, language::en),
         default_prompt(task_kind::intent, language::zh)},
        {default_prompt(task_kind::rewrite, language::en),
         default_prompt(task_kind::rewrite, language::zh)},
        {default_prompt(task_kind::summary, language::en),
         default_prompt(task_kind::summary, language::zh)},
        {default_prompt(task_kind::tool_selection, language::en),
         default_prompt(task_kind::tool_selection, language::zh)},
        {default_prompt(task_kind::safety, language::en),
         default_prompt(task_kind::safety, language::zh)},
        {default_prompt(task_kind::answer, language::en),
         default_prompt(task_kind::answer, language::zh)}};
    return p ? *p : defaults[static_cast<int>(k)][lang == language::zh ? 1 : 0];
  }

  static std::string json_key(const generate::json_options& o) {
    return ":" + std::to_string(o.default_max_string_length) + "," +
           std::to_string(o.default_max_items) + "," + std::to_string(o.max_integer_digits) + "," +
           std::to_string(o.max_fraction_digits) + "," + (o.space_after_separators ? "1" : "0");
  }

  generate::token_constraint& constraint(const std::string& key, int32_t end_token,
                                         const std::function<generate::constraint()>& make) {
    if (auto it = constraints_.find(key); it != constraints_.end()) return *it->second;
    if (constraints_.size() >= config_.max_cached_constraints) {
      constraints_.erase(order_.front());
      order_.erase(order_.begin());
    }
    auto dfa = generate::byte_dfa::compile(make());
    auto c = std::make_unique<generate::token_constraint>(std::move(dfa), vocabulary(), end_token);
    order_.push_back(key);
    return *constraints_.emplace(key, std::move(c)).first->second;
  }

  generate::generation_result decode(generate::token_constraint& con, size_t budget,
                                     const char* task, const text_stream& on_text = {}) {
    const uint32_t need = con.tokens_to_finish(con.start());
    if (budget < need)
      throw config_error(std::string(task) + ": max_tokens " + std::to_string(budget) +
                         " is below the shortest valid output (" + std::to_string(need) +
                         " tokens)");
    return run_constrained(runner_, con, budget, config_.decode, on_text);
  }

  text_result free_text(const encoded_prompt& prompt, bool multi_line, size_t max_tokens,
                        clock::time_point t0, const text_stream& on_text = {}) {
    if (max_tokens == 0) throw config_error("max_tokens must be at least 1");
    auto& con = constraint(multi_line ? "text:multi" : "text:single", im_end_,
                           [&] { return text_constraint(multi_line); });
    const runner_stats before = runner_.stats();
    runner_.begin(prompt.ids, prompt.fixed);
    const auto g = decode(con, max_tokens + 1, "text", on_text);  // + the end token
    text_result r;
    r.text = g.bytes;
    r.tokens = g.tokens.size();
    r.budget_reached = g.tokens.size() >= max_tokens;
    r.stats = delta(before, prompt, g.tokens.size(), t0);
    return r;
  }

  void use_adapters(const std::optional<model::lora_set>& task_set) {
    runner_.set_adapters(task_set ? *task_set : adapters_);
  }

  request_stats delta(const runner_stats& b, const encoded_prompt& p, size_t output_tokens,
                      clock::time_point t0) const {
    const runner_stats& a = runner_.stats();
    request_stats s;
    s.prompt_tokens = p.ids.size();
    s.dropped_input_tokens = p.dropped_input_tokens;
    s.reused_tokens = (a.kept_tokens - b.kept_tokens) + (a.restored_tokens - b.restored_tokens);
    s.computed_tokens = a.computed_tokens - b.computed_tokens;
    s.forward_passes = a.forward_passes - b.forward_passes;
    s.output_tokens = output_tokens;
    s.ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    return s;
  }

  const text::tokenizer* tok_;
  engine_config config_;
  model_runner runner_;
  model::lora_set adapters_;  // for tasks without their own
  int32_t im_end_ = -1;
  std::shared_ptr<const generate::token_vocabulary> vocab_;
  std::map<std::string, std::unique_ptr<generate::token_constraint>> constraints_;
  std::vector<std::string> order_;
};

}  // namespace edgecloud::tasks
