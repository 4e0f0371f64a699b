// SPDX-License-Identifier: Apache-2.0
// tasks/task_prompt.hpp and tasks/config_json.hpp: the ids intent_prompt gives are the ones
// classify feeds the model (checked by scoring the labels again on a bare model session from
// those ids: the log-probabilities must agree), the prompt text is the Qwen3 template's own
// rendering, and the "task" JSON section maps every option and refuses typos.
#include <gtest/gtest.h>

#include <cmath>
#include <edgecloud/model/session.hpp>
#include <edgecloud/tasks/config_json.hpp>
#include <edgecloud/tasks/engine.hpp>
#include <edgecloud/tasks/task_prompt.hpp>

#include "tasks/task_test_support.hpp"

namespace {

using namespace edgecloud;

// log P(seq | prompt) on a fresh F32 session, softmax over the full vocabulary, in double.
double sequence_log_prob(const model::qwen3& m, const std::vector<int32_t>& prompt,
                         const std::vector<int32_t>& seq) {
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), seq.begin(), seq.end());
  model::session s(m, {.context = 2048, .kv_type = kernels::dtype::f32, .threads = 1,
                       .logits_rows = all.size()});
  s.prefill(all, model::logits_mode::all);
  double lp = 0;
  for (size_t k = 0; k < seq.size(); ++k) {
    const auto z = s.logits(prompt.size() - 1 + k);
    double mx = -INFINITY, sum = 0;
    for (float v : z) mx = std::max(mx, static_cast<double>(v));
    for (float v : z) sum += std::exp(v - mx);
    lp += z[static_cast<size_t>(seq[k])] - mx - std::log(sum);
  }
  return lp;
}

TEST(TaskPrompt, IntentPromptIsExactlyWhatClassifyFeeds) {
  EDGECLOUD_TINY(w);
  const int32_t im_end = *w.tok.find_token("<|im_end|>");
  tasks::intent_config c{.labels = {"weather", "credit_limit_change", "oos"}};
  c.head = tasks::label_head::full;
  for (const bool trained_prompt : {false, true}) {
    if (trained_prompt)
      c.prompt = tasks::prompt_template{.system = "Reply with the intent only.",
                                        .user = "Message:\n{text}"};
    const std::string text = "will it rain in Paris tomorrow?";
    const auto r = tasks::intent_prompt(w.tok, im_end, c, text, 2048);
    // Labels: their own tokens and the end token.
    ASSERT_EQ(r.labels.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      auto want = w.tok.encode(c.labels[k], text::encode_mode::untrusted);
      want.push_back(im_end);
      EXPECT_EQ(r.labels[k], want);
    }
    // The prompt: the template's rendering of system (+ label list) and the user turn.
    const auto& templ = tasks::resolve_prompt(c.prompt, tasks::task_kind::intent, c.lang);
    const std::vector<tasks::chat_message> msgs = {
        {.role = "system",
         .content = tasks::fill_placeholder(templ.system, "labels",
                                            "- weather\n- credit_limit_change\n- oos")},
        {.role = "user", .content = tasks::fill_placeholder(templ.user, "text", text)}};
    const auto ref = text::render_qwen3(msgs, nullptr,
                                        {.add_generation_prompt = true, .enable_thinking = false});
    EXPECT_EQ(r.prompt.text, ref.text);
    EXPECT_EQ(r.prompt.ids, w.tok.encode(ref.text, text::encode_mode::trusted));
    EXPECT_EQ(r.prompt.fixed,
              w.tok.encode(ref.text.substr(0, ref.text.find(text)), text::encode_mode::trusted)
                  .size());
    // classify scores those very sequences after that very prompt.
    tasks::engine e(w.model, w.tok,
                    {.runner = {.session = {.context = 2048,
                                            .kv_type = kernels::dtype::f32,
                                            .threads = 1}}});
    const auto res = e.classify(text, c);
    EXPECT_EQ(res.stats.prompt_tokens, r.prompt.ids.size());
    for (size_t k = 0; k < 3; ++k)
      EXPECT_NEAR(res.log_probs[k], sequence_log_prob(w.model, r.prompt.ids, r.labels[k]), 1e-3)
          << c.labels[k];
  }
  c.labels = {};
  EXPECT_THROW(tasks::intent_prompt(w.tok, im_end, c, "x"), config_error);
  c.labels = {"a", ""};
  EXPECT_THROW(tasks::intent_prompt(w.tok, im_end, c, "x"), config_error);
}

TEST(TaskPrompt, TaskJsonSectionMapsEveryOptionAndRefusesTypos) {
  tasks::intent_config c;
  tasks::apply_task_json(nlohmann::json::parse(R"({
      "prompt": {"system": "S", "user": "Q:\n{text}",
                 "examples": [{"role": "user", "content": "Q:\nx"}, {"role": "assistant", "content": "a"}]},
      "lang": "zh", "temperature": 1.5, "head": "full", "end_with_stop_token": false})"),
                         c, "f.json: task");
  ASSERT_TRUE(c.prompt);
  EXPECT_EQ(c.prompt->system, "S");
  EXPECT_EQ(c.prompt->user, "Q:\n{text}");
  ASSERT_EQ(c.prompt->examples.size(), 2u);
  EXPECT_EQ(c.prompt->examples[1].content, "a");
  EXPECT_EQ(c.lang, tasks::language::zh);
  EXPECT_DOUBLE_EQ(c.temperature, 1.5);
  EXPECT_EQ(c.head, tasks::label_head::full);
  EXPECT_FALSE(c.end_with_stop_token);
  // Round trip through task_to_json.
  tasks::intent_config back;
  tasks::apply_task_json(nlohmann::json::parse(tasks::task_to_json(c).dump()), back, "x");
  EXPECT_EQ(tasks::task_to_json(back), tasks::task_to_json(c));
  // An empty section changes nothing.
  tasks::intent_config d;
  tasks::apply_task_json(nlohmann::json::object(), d, "x");
  EXPECT_FALSE(d.prompt);
  EXPECT_TRUE(d.end_with_stop_token);

  auto bad = [](const char* j) {
    tasks::intent_config e;
    try {
      tasks::apply_task_json(nlohmann::json::parse(j), e, "cfg.json: task");
    } catch (const config_error& err) {
      return std::string(err.what());
    }
    return std::string();
  };
  EXPECT_NE(bad(R"({"promt": {}})").find("unknown key \"promt\""), std::string::npos);
  EXPECT_NE(bad(R"({"prompt": {"user": "no text"}})").find("{text}"), std::string::npos);
  EXPECT_NE(bad(R"({"head": "fast"})").find("cfg.json: task.head"), std::string::npos);
  EXPECT_NE(bad(R"({"temperature": 0})").find("temperature"), std::string::npos);
  EXPECT_NE(bad(R"({"temperature": "hot"})").find("temperature"), std::string::npos);
  EXPECT_NE(bad(R"({"lang": "fr"})").find("lang"), std::string::npos);
  EXPECT_NE(bad(R"({"prompt": {"examples": [{"role": "user"}]}})").find("examples"),
            std::string::npos);
  EXPECT_NE(bad(R"([1])").find("must be a JSON object"), std::string::npos);
}

}  // namespace
