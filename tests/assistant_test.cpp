// SPDX-License-Identifier: Apache-2.0
// The assistant end to end with the deterministic stand-in edge: every route, the edge's
// findings arriving at the cloud, PII never leaving the device unredacted, fallback with the
// reason kept, the circuit breaker keeping requests local, and many threads at once — against
// the in-process loopback transport and against a real OpenAI-compatible HTTP server on
// loopback (transport/openai_server.hpp) reached through the shipped openai_transport.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <edgecloud/assistant.hpp>
#include <mutex>
#include <thread>

using namespace edgecloud;
using routing::route;
using routing::task_type;

namespace {

// A cloud backend that records what reached it and how many calls ran at once.
struct recording_backend {
  struct state {
    std::mutex mutex;
    std::vector<transport::chat_request> requests;
    std::atomic<int> inside{0}, max_inside{0};
    std::atomic<int> fail_remaining{0};
    std::chrono::milliseconds delay{0};
    // When > 0, a call waits (an event, no sleep) until that many calls have been inside at
    // once: if the caller serialised the calls, the wait gives up (once; later calls do not
    // wait) and max_inside stays 1.
    int await_company = 0;
    bool gave_up = false;
    std::condition_variable company;
  };
  std::shared_ptr<state> s = std::make_shared<state>();

  transport::generation_result operator()(const transport::chat_request& r,
                                          const transport::delta_sink& sink) const {
    int now = s->inside.fetch_add(1) + 1;
    int seen = s->max_inside.load();
    while (now > seen && !s->max_inside.compare_exchange_weak(seen, now)) {
    }
    if (s->await_company > 0) {
      std::unique_lock lock(s->mutex);
      s->company.notify_all();
      // The limit only keeps a serialising caller from hanging the test; no time is asserted.
      if (!s->gave_up &&
          !s->company.wait_for(lock, std::chrono::seconds(30),
                               [&] { return s->max_inside.load() >= s->await_company; }))
        s->gave_up = true;
    }
    if (s->delay.count()) std::this_thread::sleep_for(s->delay);
    {
      std::lock_guard lock(s->mutex);
      s->requests.push_back(r);
    }
    s->inside.fetch_sub(1);
    if (s->fail_remaining.fetch_sub(1) > 0) throw std::runtime_error("backend exploded");
    transport::generation_result g;
    g.content = "cloud says: " + r.messages.back().content;
    if (sink) sink(g.content);
    g.usage = {20, 5};
    return g;
  }
};

using loopback_assistant =
    basic_assistant<stand_in_edge, routing::confidence_policy, transport::loopback_transport>;

TEST(Assistant, ConfidentDeviceIntentStaysOnTheEdge) {
  recording_backend cloud;
  loopback_assistant a(stand_in_edge{}, transport::generate_function(cloud));
  auto r = a.ask("明天北京天气怎么样");
  EXPECT_TRUE(r.answered);
  EXPECT_EQ(r.route, route::edge);
  EXPECT_FALSE(r.fallback);
  EXPECT_EQ(r.decision.rule, "task.confident");
  EXPECT_EQ(r.intent.label, "weather");
  EXPECT_EQ(r.answer, "[edge:weather] 明天北京天气怎么样");
  EXPECT_EQ(a.transport().calls(), 0u);
  auto j = to_json_value(r);
  EXPECT_EQ(j["route"], "edge");
  EXPECT_EQ(j["fallback"], false);
  EXPECT_TRUE(j["reason"].is_string());
  EXPECT_TRUE(j["latency_ms"].is_number());
  nlohmann::json adl = r;
  EXPECT_EQ(adl, j);
}

TEST(Assistant, KnowledgeGoesToTheCloudWithTheEdgesFindings) {
  recording_backend cloud;
  assistant_config config;
  config.retrieval_hints["knowledge"] = "collection:encyclopedia";
  loopback_assistant a(stand_in_edge{}, transport::generate_function(cloud), {}, config);
  assistant_request q;
  q.text = "why is it blue";
  q.history = {{"user", "the sky"}, {"assistant", "The sky is above us."}};
  auto r = a.ask(q);
  EXPECT_TRUE(r.answered);
  EXPECT_EQ(r.route, route::cloud);
  EXPECT_EQ(r.decision.rule, "task.cloud_task");
  EXPECT_EQ(r.answer, "cloud says: why is it blue");
  ASSERT_EQ(cloud.s->requests.size(), 1u);
  const auto& sent = cloud.s->requests[0];
  EXPECT_EQ(sent.findings.intent, "knowledge");
  ASSERT_TRUE(sent.findings.confidence.has_value());
  EXPECT_DOUBLE_EQ(*sent.findings.confidence, 0.95);
  EXPECT_EQ(sent.findings.rewritten_query, "why is (the sky) blue");
  EXPECT_EQ(sent.findings.retrieval_hint, "collection:encyclopedia");
  EXPECT_EQ(sent.findings.task, "knowledge");
  EXPECT_EQ(sent.findings.route_reason, "task.cloud_task");
  ASSERT_EQ(sent.messages.size(), 4u);  // system, two history turns, the request
  EXPECT_EQ(sent.messages[0].role, "system");
  EXPECT_EQ(sent.messages[1].content, "the sky");
  EXPECT_EQ(a.telemetry().cloud_prompt_tokens(), 20u);
}

TEST(Assistant, PiiIsRedactedBeforeLeavingOrKeptLocal) {
  recording_backend cloud;
  loopback_assistant a(stand_in_edge{}, transport::generate_function(cloud));
  assistant_request q;
  q.text = "为什么我的号码13812345678收不到短信";
  q.history = {{"user", "我的邮箱是 zhang@example.com"}};
  auto r = a.ask(q);
  EXPECT_EQ(r.route, route::cloud);
  EXPECT_TRUE(r.redacted);
  EXPECT_EQ(r.sent_text, "为什么我的号码[PHONE]收不到短信");
  ASSERT_EQ(cloud.s->requests.size(), 1u);
  for (const auto& m : cloud.s->requests[0].messages) {
    EXPECT_EQ(m.content.find("13812345678"), std::string::npos) << m.content;
    EXPECT_EQ(m.content.find("zhang@example.com"), std::string::npos) << m.content;
  }
  EXPECT_EQ(cloud.s->requests[0].findings.rewritten_query.find("13812345678"), std::string::npos);

  routing::policy_config keep;
  keep.privacy.on_pii = routing::pii_action::keep_local;
  recording_backend cloud2;
  loopback_assistant local(stand_in_edge{}, transport::generate_function(cloud2), keep);
  auto k = local.ask(q);
  EXPECT_EQ(k.route, route::edge);
  EXPECT_EQ(k.decision.rule, "privacy.keep_local");
  EXPECT_TRUE(cloud2.s->requests.empty());
}

TEST(Assistant, OfflineUnsafeAndOverrides) {
  recording_backend cloud;
  loopback_assistant a(stand_in_edge{}, transport::generate_function(cloud));
  a.set_online(false);
  auto off = a.ask("explain the history of tea");
  EXPECT_EQ(off.route, route::edge);
  EXPECT_TRUE(off.degraded);
  EXPECT_EQ(off.decision.rule, "network.offline");
  EXPECT_TRUE(off.answered);
  a.set_online(true);

  auto unsafe = a.ask("how to build a bomb");
  EXPECT_EQ(unsafe.route, route::edge);
  EXPECT_EQ(unsafe.answer, a.config().refusal);
  EXPECT_EQ(unsafe.decision.task, task_type::safety);

  assistant_request forced;
  forced.text = "明天天气";
  forced.override_route = routing::route_override::force_cloud;
  EXPECT_EQ(a.ask(forced).route, route::cloud);
  forced.text = "prove the theorem step by step";
  forced.override_route = routing::route_override::force_edge;
  EXPECT_EQ(a.ask(forced).route, route::edge);
  EXPECT_EQ(cloud.s->requests.size(), 1u);
  EXPECT_EQ(a.telemetry().degraded_rules().at("network.offline"), 1u);
}

TEST(Assistant, CloudFailureFallsBackToTheEdgeWithTheReasonKept) {
  recording_backend cloud;
  cloud.s->fail_remaining = 1;
  loopback_assistant a(stand_in_edge{}, transport::generate_function(cloud));
  auto r = a.ask("explain quantum tunnelling");
  EXPECT_TRUE(r.answered);
  EXPECT_EQ(r.route, route::edge);
  EXPECT_TRUE(r.fallback);
  EXPECT_EQ(r.decision.target, route::cloud);  // the decision is kept as made
  EXPECT_NE(r.fallback_reason.find("backend exploded"), std::string::npos) << r.fallback_reason;
  EXPECT_EQ(r.answer, "[edge:knowledge] explain quantum tunnelling");
  auto j = to_json_value(r);
  EXPECT_EQ(j["fallback"], true);
  EXPECT_EQ(j["route"], "edge");
  EXPECT_NE(j["reason"].get<std::string>().find("backend exploded"), std::string::npos);
  EXPECT_EQ(a.telemetry().fallbacks_total(), 1u);
  EXPECT_EQ(a.telemetry().errors(route::cloud), 1u);

  // The edge fails too: an explicit error, never a silent loss.
  cloud.s->fail_remaining = 1;
  a.with_edge([](stand_in_edge& e) { e.fail_next_answers(1); });
  auto both = a.ask("explain quantum tunnelling");
  EXPECT_FALSE(both.answered);
  EXPECT_NE(both.error.find("injected failure"), std::string::npos);
  EXPECT_NE(both.error.find("backend exploded"), std::string::npos);
  EXPECT_EQ(a.telemetry().errors(route::edge), 1u);
}

TEST(Assistant, ManyThreadsSerialiseTheEdgeAndRunTheCloudInParallel) {
  recording_backend cloud;
  cloud.s->await_company = 2;  // the first cloud calls meet inside the backend
  stand_in_edge_config ec;
  ec.delay = std::chrono::milliseconds(1);
  stand_in_edge edge(ec);
  loopback_assistant a(edge, transport::generate_function(cloud));
  const int threads = 8, per_thread = 12;
  std::atomic<int> answered{0}, on_cloud{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = a.ask((i + t) % 2 ? "what is entropy" : "播放一首歌");
        answered += r.answered;
        on_cloud += r.route == route::cloud;
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(answered.load(), threads * per_thread);
  EXPECT_EQ(on_cloud.load(), threads * per_thread / 2);
  EXPECT_EQ(edge.max_concurrent_calls(), 1) << "edge calls overlapped";
  EXPECT_GT(cloud.s->max_inside.load(), 1) << "cloud calls did not run in parallel";
  EXPECT_EQ(a.telemetry().requests_total(), uint64_t(threads * per_thread));
}

// --- A real HTTP peer on loopback.
struct http_fixture {
  recording_backend backend;
  transport::openai_server server;
  http_fixture()
      : server(transport::openai_server_config{}, transport::generate_function(backend)) {
    server.start();
  }
  transport::openai_transport_config transport_config(int attempts = 1,
                                                      int breaker_failures = 100) const {
    transport::openai_transport_config c;
    c.base_url = server.base_url();
    c.model = "edgecloud-echo";
    c.retry.max_attempts = attempts;
    c.retry.initial_backoff = std::chrono::milliseconds(5);
    c.timeouts.total = std::chrono::milliseconds(5000);
    c.breaker.failure_threshold = breaker_failures;
    c.breaker.open_duration = std::chrono::milliseconds(60000);
    return c;
  }
};

using http_assistant = basic_assistant<stand_in_edge>;  // default policy and openai_transport

TEST(AssistantHttp, CloudAnswersOverHttpWithFindingsAndStreams) {
  http_fixture f;
  http_assistant a(stand_in_edge{}, f.transport_config());
  auto r = a.ask("explain the history of tea");
  ASSERT_TRUE(r.answered) << r.error;
  EXPECT_EQ(r.route, route::cloud) << r.fallback_reason;
  EXPECT_EQ(r.answer, "cloud says: explain the history of tea");
  ASSERT_EQ(f.backend.s->requests.size(), 1u);
  EXPECT_EQ(f.backend.s->requests[0].findings.intent, "knowledge");
  EXPECT_EQ(f.backend.s->requests[0].findings.route_reason, "task.cloud_task");

  std::string streamed;
  assistant_request q;
  q.text = "what is tea";
  q.on_delta = [&](const answer_event& e) {
    EXPECT_EQ(e.type, answer_event::kind::delta);
    EXPECT_EQ(e.source, route::cloud);
    streamed += e.text;
    return true;
  };
  auto s = a.ask(q);
  EXPECT_EQ(s.route, route::cloud);
  EXPECT_EQ(streamed, "cloud says: what is tea");
}

TEST(AssistantHttp, FailingCloudFallsBackThenTheOpenCircuitKeepsRequestsLocal) {
  http_fixture f;
  f.server.fail_next(1000, 503);
  http_assistant a(stand_in_edge{}, f.transport_config(/*attempts=*/1, /*breaker_failures=*/3));
  for (int i = 0; i < 3; ++i) {
    auto r = a.ask("explain the history of tea");
    EXPECT_TRUE(r.answered);
    EXPECT_TRUE(r.fallback);
    EXPECT_EQ(r.route, route::edge);
    EXPECT_NE(r.fallback_reason.find("503"), std::string::npos) << r.fallback_reason;
  }
  auto served_before = f.server.stats().chat_completions;
  auto r = a.ask("explain the history of tea");
  EXPECT_EQ(r.route, route::edge);
  EXPECT_FALSE(r.fallback);
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.decision.rule, "network.circuit_open");
  EXPECT_EQ(f.server.stats().chat_completions, served_before)
      << "an open circuit must not reach the server";
  EXPECT_EQ(a.telemetry().fallbacks_total(), 3u);
  EXPECT_EQ(a.telemetry().degraded_rules().at("network.circuit_open"), 1u);
}

TEST(AssistantHttp, SlowCloudHitsTheDeadlineAndFallsBackInTime) {
  http_fixture f;
  transport::fault_config slow;
  slow.header_delay = std::chrono::milliseconds(3000);
  f.server.set_faults(slow);
  assistant_config config;
  config.cloud_timeout = std::chrono::milliseconds(300);
  http_assistant a(stand_in_edge{}, f.transport_config(), {}, config);
  auto r = a.ask("explain the history of tea");
  EXPECT_TRUE(r.answered);
  EXPECT_TRUE(r.fallback);
  // The 300 ms cloud deadline ended the call (the server would answer after 3 s, inside the
  // transport's own 5 s limit, so an ignored deadline would end in a cloud answer instead).
  EXPECT_EQ(r.cloud_status, transport::call_status::timeout) << r.fallback_reason;
  EXPECT_EQ(r.route, route::edge);
  EXPECT_NE(r.fallback_reason.find("deadline"), std::string::npos) << r.fallback_reason;
}

TEST(AssistantHttp, ManyThreadsWithInjectedFaultsAccountForEveryRequest) {
  http_fixture f;
  transport::fault_config faults;
  faults.error_rate = 0.3;
  faults.error_status = 500;
  faults.break_kind = transport::stream_break::truncate_mid_json;
  faults.break_rate = 0.1;
  f.server.set_faults(faults);
  http_assistant a(stand_in_edge{}, f.transport_config(/*attempts=*/2));
  const int threads = 8, per_thread = 25;
  std::atomic<int> answered{0}, fallbacks{0}, cloud{0}, edge{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = a.ask((i + t) % 3 ? "explain why the sea is salty" : "打开空调");
        answered += r.answered;
        fallbacks += r.fallback;
        (r.route == route::cloud ? cloud : edge) += 1;
      }
    });
  for (auto& th : pool) th.join();
  const uint64_t n = threads * per_thread;
  EXPECT_EQ(answered.load(), int(n));
  const auto& tm = a.telemetry();
  EXPECT_EQ(tm.requests_total(), n);
  EXPECT_EQ(tm.requests(route::cloud), uint64_t(cloud.load()));
  EXPECT_EQ(tm.fallbacks_total(), uint64_t(fallbacks.load()));
  EXPECT_EQ(tm.errors(route::cloud), uint64_t(fallbacks.load()));
  EXPECT_GT(fallbacks.load(), 0);
  EXPECT_GT(cloud.load(), 0);
  uint64_t by_path = 0;
  for (auto p : routing::all_latency_paths) by_path += tm.latency(p).count();
  EXPECT_EQ(by_path, n);
}

}  // namespace
