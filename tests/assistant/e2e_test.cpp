// SPDX-License-Identifier: Apache-2.0
// End to end with the real engine on both sides: a tiny random-weight Qwen3 (written by
// `edgecloud make-model --shape tiny`), an openai_server on loopback running engine_backend (what
// `edgecloud serve --model` runs), and the default assistant (local_edge + confidence_policy +
// openai_transport) talking to it over HTTP. Checks: the server's answers equal greedy decoding
// of the same rendered prompt done independently; edge answers; cloud answers arrive verbatim;
// an HTTP 503 from the cloud ends in an edge answer marked fallback; many threads on one
// assistant with injected faults lose nothing and every request is counted once.
// Fails when the model cannot be written (build/bin/edgecloud, or EDGECLOUD_MODEL_WRITER).
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

const edgecloud::testing::cli_tiny_model& tiny() {
  static const edgecloud::testing::cli_tiny_model model("e2e", "--seed 7");
  return model;
}

// Fails (never skips) when the model cannot be written: the CLI is part of the build.
#define REQUIRE_TINY_MODEL(var) EDGECLOUD_REQUIRE_TINY_MODEL(var, tiny())

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

// The answer to {system, user} computed without engine_backend: render, encode, greedy-decode
// with a fresh session (no prefix cache), detokenize. What a server running the engine must say.
struct reference_answer {
  std::vector<int32_t> prompt_ids, out;
  std::string text;
};
reference_answer greedy_reference(const std::filesystem::path& path, const std::string& system,
                                  const std::string& user, size_t max_tokens) {
  auto model = model::qwen3::load(path);
  text::tokenizer tok(generate::read_gguf_vocab(model.file()));
  text::ordered_json msgs = {{{"role", "system"}, {"content", system}},
                             {{"role", "user"}, {"content", user}}};
  text::chat_options opt;
  opt.enable_thinking = false;
  reference_answer r;
  r.prompt_ids = text::encode_chat(tok, text::render_qwen3(msgs, nullptr, opt));
  model::session s(model, {.context = 512, .threads = 1});
  std::vector<int32_t> stops = {*tok.find_token("<|im_end|>"), *tok.find_token("<|endoftext|>")};
  r.out = s.generate(r.prompt_ids, max_tokens, stops);
  text::stream_decoder d(tok, true);
  for (int32_t t : r.out) r.text += std::string(d.push(t));
  r.text += std::string(d.flush());
  return r;
}

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
  const auto ref = greedy_reference(path, "You are terse.", "明天北京天气怎么样？", 12);
  const auto& ids = ref.prompt_ids;
  const auto& out = ref.out;

  const auto plain = client.complete(req);
  ASSERT_TRUE(plain.ok()) << plain.error;
  EXPECT_EQ(plain.usage.prompt_tokens, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(plain.usage.completion_tokens, static_cast<int64_t>(out.size()));
  EXPECT_EQ(plain.finish_reason, out.size() == 12 ? "length" : "stop");
  EXPECT_EQ(plain.content, ref.text);

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
  // The answer is exactly greedy decoding of {system prompt, question}, computed here without
  // the engine backend (a wrong conversation sent, a lost or duplicated piece, a stale prefix
  // cache would all differ); the usage counts the same prompt.
  const auto ref = greedy_reference(path, a.config().system_prompt, cloud_q.text,
                                    static_cast<size_t>(a.config().cloud_max_tokens));
  EXPECT_EQ(c.answer, ref.text);
  EXPECT_EQ(c.cloud_usage.prompt_tokens, static_cast<int64_t>(ref.prompt_ids.size()));

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
