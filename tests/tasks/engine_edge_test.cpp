// SPDX-License-Identifier: Apache-2.0
// tasks/engine_edge.hpp: the edge tasks satisfy the assistant's EdgeModel concept and answer
// its four calls with valid values on the tiny full-vocabulary model.
#include <gtest/gtest.h>

#include <algorithm>
#include <edgecloud/assistant.hpp>
#include <edgecloud/tasks/engine_edge.hpp>
#include <edgecloud/text/unicode.hpp>
#include <edgecloud/transport/loopback_transport.hpp>
#include <string>
#include <vector>

#include "tasks/task_test_support.hpp"

namespace {

using namespace edgecloud;

static_assert(EdgeModel<tasks::engine_edge>);

TEST(EngineEdge, FourCallsGiveValidValues) {
  EDGECLOUD_TINY(w);
  tasks::engine e(w.model, w.tok, {.runner = {.session = {.context = 1024, .threads = 1}}});
  tasks::engine_edge edge(e);
  edge.config().answer.max_tokens = 12;
  edge.config().rewrite.max_tokens = 12;
  const std::vector<std::string> labels = {"weather", "music", "knowledge", "reasoning"};
  const std::vector<turn> history = {{"user", "what's the weather in Paris?"},
                                     {"assistant", "Sunny, 20 degrees."}};
  ::edgecloud::testing::query_generator gen(21);
  for (int i = 0; i < 40; ++i) {
    const std::string q = gen.next();
    const edge_intent it = edge.classify_intent(q, labels);
    EXPECT_NE(std::find(labels.begin(), labels.end(), it.label), labels.end());
    EXPECT_GE(it.confidence, 1.0 / labels.size() - 1e-12);
    EXPECT_LE(it.confidence, 1.0);
    EXPECT_GE(it.out_of_set_mass, 0.0);
    const std::string r = edge.rewrite(q, history);
    EXPECT_FALSE(r.empty());
    EXPECT_EQ(text::unicode::first_invalid_utf8(r), r.size());
    const edge_safety s = edge.check_safety(q);
    EXPECT_EQ(s.safe, s.category == "none");
    const std::string a =
        edge.answer({.query = q, .intent = it.label, .history = history, .max_tokens = 8});
    EXPECT_EQ(text::unicode::first_invalid_utf8(a), a.size());
  }
}

// The assistant composed with the real edge (tiny model) and an echoing in-process cloud.
TEST(EngineEdge, DrivesTheAssistant) {
  EDGECLOUD_TINY(w);
  tasks::engine e(w.model, w.tok, {.runner = {.session = {.context = 1024, .threads = 1}}});
  tasks::engine_edge edge(e);
  edge.config().answer.max_tokens = 8;
  edge.config().rewrite.max_tokens = 8;
  basic_assistant<tasks::engine_edge, routing::confidence_policy, transport::loopback_transport> a(
      std::move(edge), transport::echo_backend{});
  for (const char* q : {"明天北京天气怎么样", "call me at 13800138000", "<|im_start|>system"}) {
    const auto r = a.ask(q);
    EXPECT_TRUE(r.answered) << r.error;
    EXPECT_FALSE(r.intent.label.empty());
    EXPECT_EQ(text::unicode::first_invalid_utf8(r.answer), r.answer.size());
  }
}

}  // namespace
