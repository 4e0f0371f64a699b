// SPDX-License-Identifier: Apache-2.0
// End to end with the real engine on both sides: a tiny random-weight Qwen3 (written by
// `edgecloud make-model --shape tiny`), an openai_server on loopback running engine_backend (what
// `edgecloud serve --model` runs), and the default assistant (local_edge + confidence_policy +
// openai_transport) talking to it over HTTP. Checks: the server's answers equal greedy decoding
// of the same rendered prompt done independently; edge answers; cloud answers arrive verbatim;
// an HTTP 503 from the cloud ends in an edge answer marked fallback; many threads on one
// assistant with injected faults lose nothing and every request is counted once.
// Skipped when build/bin/edgecloud (which writes the model) was not built.
#include <edgecloud/assistant/default_assistant.hpp>
#include <edgecloud/assistant/engine_backend.hpp>
#include <edgecloud/transport.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "common/cli.hpp"

using namespace edgecloud;
using routing::route;

namespace {

std::filesystem::path tiny_model() {
  static const edgecloud::testing::cli_tiny_model model("e2e", "--seed 7");
  return model.path();
}

#define REQUIRE_TINY_MODEL(var)  \
  const auto var = tiny_model(); \
  if (var.empty()) GTEST_SKIP() << "build/bin/edgecloud not built (it writes the model)"

struct cloud_server {
  engine_backend backend;
  transport::openai_server server;
  explicit cloud_server(const std::filesystem::path& model)
      : backend(
            engine_backend::load(model, {.threads = 1, .context = 512, .default_max_tokens = 16})),
        server({.port = 0, .models = {"tiny"}}, backend) {
    server.start();
  }
};

assistant_options options_for(const std::string& url) {
  assistant_options o;
  o.cloud_url = url;
  o.edge.threads = 1;
  o.edge.context = 512;
  o.assistant.edge_max_tokens = 8;
  o.assistant.cloud_max_tokens = 8;
  o.transport.retry.max_attempts = 2;
  o.transport.retry.initial_backoff = std::chrono::milliseconds(5);
  o.transport.breaker.failure_threshold = 1000;  // the fault test must not open the circuit
  return o;
}

TEST(EndToEnd, ServeAnswersAreGreedyDecodingOfTheRenderedPrompt) {
  REQUIRE_TINY_MODEL(path);
  cloud_server cloud(path);
  transport::openai_transport client({.base_url = cloud.server.base_url(), .model = "tiny"});
  transport::chat_request req;
  req.messages = {{"system", "You are terse.", {}, {}, {}},
                  {"user", "明天北京天气怎么样？", {}, {}, {}}};
  req.max_tokens = 12;

  // Independent reference: render, encode, greedy-decode with a fresh session, detokenize.
  auto model = model::qwen3::load(path);
  text::tokenizer tok(generate::read_gguf_vocab(model.file()));
  text::ordered_json msgs = {{{"role", "system"}, {"content", "You are terse."}},
                             {{"role", "user"}, {"content", "明天北京天气怎么样？"}}};
  text::chat_options opt;
  opt.enable_thinking = false;
  const auto ids = text::encode_chat(tok, text::render_qwen3(msgs, nullptr, opt));
  model::session s(model, {.context = 512, .threads = 1});
  std::vector<int32_t> stops = {*tok.find_token("<|im_end|>"), *tok.find_token("<|endoftext|>")};
  const auto out = s.generate(ids, 12, stops);

  const auto plain = client.complete(req);
  ASSERT_TRUE(plain.ok()) << plain.error;
  EXPECT_EQ(plain.usage.prompt_tokens, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(plain.usage.completion_tokens, static_cast<int64_t>(out.size()));
  EXPECT_EQ(plain.finish_reason, out.size() == 12 ? "length" : "stop");
  text::stream_decoder d(tok, true);
  std::string expected_text;
  for (int32_t t : out) expected_text += std::string(d.push(t));
  expected_text += std::string(d.flush());
  EXPECT_EQ(plain.content, expected_text);

  // Streamed: the deltas concatenate to the same text (second request reuses the cached prefix).
  req.stream = true;
  std::string streamed;
  int deltas = 0;
  transport::call_options o;
  o.on_delta = [&](const transport::stream_delta& dl) {
    streamed += dl.content;
    deltas += !dl.content.empty();
    return true;
  };
  const auto st = client.complete(req, o);
  ASSERT_TRUE(st.ok()) << st.error;
  EXPECT_EQ(st.content, plain.content);
  EXPECT_EQ(streamed, plain.content);
  if (!plain.content.empty()) EXPECT_GE(deltas, 1);
}

TEST(EndToEnd, EdgeAnswersCloudAnswersAndFailureFallsBack) {
  REQUIRE_TINY_MODEL(path);
  cloud_server cloud(path);
  auto a = make_assistant(path, options_for(cloud.server.base_url()));

  assistant_request edge_q;
  edge_q.text = "Set an alarm for 7 am";
  edge_q.override_route = routing::route_override::force_edge;
  const auto e = a.ask(edge_q);
  ASSERT_TRUE(e.answered) << e.error;
  EXPECT_EQ(e.route, route::edge);
  EXPECT_FALSE(e.fallback);
  EXPECT_EQ(e.decision.rule, "override.force_edge");
  EXPECT_EQ(cloud.server.stats().chat_completions, 0u);

  assistant_request cloud_q;
  cloud_q.text = "Explain why the sea is salty";
  cloud_q.override_route = routing::route_override::force_cloud;
  const auto c = a.ask(cloud_q);
  ASSERT_TRUE(c.answered) << c.error;
  EXPECT_EQ(c.route, route::cloud);
  EXPECT_FALSE(c.fallback);
  EXPECT_EQ(cloud.server.stats().completed, 1u);
  // The answer is exactly what the engine behind the server writes for that conversation.
  transport::chat_request same;
  same.messages = {{"system", a.config().system_prompt, {}, {}, {}},
                   {"user", cloud_q.text, {}, {}, {}}};
  same.max_tokens = a.config().cloud_max_tokens;
  EXPECT_EQ(c.answer, cloud.backend(same, {}).content);
  EXPECT_GT(c.cloud_usage.prompt_tokens, 0);

  cloud.server.set_faults(transport::parse_fault_spec("status=503"));
  const auto f = a.ask(cloud_q);
  ASSERT_TRUE(f.answered) << f.error;
  EXPECT_EQ(f.route, route::edge);
  EXPECT_TRUE(f.fallback);
  EXPECT_NE(f.fallback_reason.find("503"), std::string::npos) << f.fallback_reason;
  const auto j = to_json_value(f);
  EXPECT_EQ(j["route"], "edge");
  EXPECT_EQ(j["fallback"], true);

  EXPECT_EQ(a.telemetry().requests_total(), 3u);
  EXPECT_EQ(a.telemetry().requests(route::edge), 2u);
  EXPECT_EQ(a.telemetry().requests(route::cloud), 1u);
  EXPECT_EQ(a.telemetry().fallbacks_total(), 1u);
}

TEST(EndToEnd, ManyThreadsOnOneAssistantLoseNothing) {
  REQUIRE_TINY_MODEL(path);
  cloud_server cloud(path);
  cloud.server.set_faults(transport::parse_fault_spec("status=500;rate=0.3"));
  auto a = make_assistant(path, options_for(cloud.server.base_url()));

  constexpr int threads = 6, per_thread = 4;
  std::atomic<int> answered{0}, cloud_answers{0}, fallbacks{0}, edge_answers{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        assistant_request q;
        q.text =
            (t % 2 ? "为什么天空是蓝色的？ #" : "Play some jazz #") + std::to_string(t * 100 + i);
        q.override_route = (t + i) % 3 == 0 ? routing::route_override::force_edge
                                            : routing::route_override::force_cloud;
        const auto r = a.ask(q);
        answered += r.answered;
        cloud_answers += r.answered && r.route == route::cloud;
        edge_answers += r.answered && r.route == route::edge && !r.fallback;
        fallbacks += r.fallback;
        if (r.route == route::cloud) EXPECT_FALSE(r.fallback);
        if (r.fallback) EXPECT_EQ(r.route, route::edge);
      }
    });
  for (auto& th : pool) th.join();

  const int n = threads * per_thread;
  EXPECT_EQ(answered.load(), n);
  EXPECT_EQ(cloud_answers + edge_answers + fallbacks, n);
  const auto& tm = a.telemetry();
  EXPECT_EQ(tm.requests_total(), static_cast<uint64_t>(n));
  EXPECT_EQ(tm.requests(route::cloud), static_cast<uint64_t>(cloud_answers.load()));
  EXPECT_EQ(tm.fallbacks_total(), static_cast<uint64_t>(fallbacks.load()));
  EXPECT_EQ(tm.errors(route::edge), 0u);
  // The server saw every cloud answer complete, and each failure was an injected error.
  const auto st = cloud.server.stats();
  EXPECT_EQ(st.completed, static_cast<uint64_t>(cloud_answers.load()));
  EXPECT_EQ(st.generator_errors, 0u);
}

TEST(EndToEnd, OfflineAssistantAnswersOnTheEdgeDegraded) {
  REQUIRE_TINY_MODEL(path);
  assistant_options o = options_for("");
  auto a = make_assistant(path, o);
  EXPECT_FALSE(a.online());
  assistant_request q;
  q.text = "Explain how vaccines work";
  // A cloud decision, whatever the weights say.
  q.override_route = routing::route_override::force_cloud;
  const auto r = a.ask(q);
  ASSERT_TRUE(r.answered) << r.error;
  EXPECT_EQ(r.route, route::edge);
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.decision.rule, "network.offline");
}

}  // namespace
