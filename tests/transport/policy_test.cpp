// SPDX-License-Identifier: Apache-2.0
// Pure parts of the transport: backoff maths, Retry-After parsing, the circuit breaker's state
// machine on a fake clock, base-URL parsing, fault specs, the JSON mapping in both directions
// and the echo backend.
#include <edgecloud/transport.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace et = edgecloud::transport;
using namespace std::chrono_literals;

TEST(Backoff, ExponentialCappedAndJitteredWithinBounds) {
  et::retry_config cfg;
  cfg.initial_backoff = 100ms;
  cfg.multiplier = 2;
  cfg.max_backoff = 1000ms;
  cfg.jitter = 0.5;
  // u = 0 gives the nominal delay, u → 1 gives half of it.
  EXPECT_EQ(et::backoff_delay(cfg, 1, 0.0), 100ms);
  EXPECT_EQ(et::backoff_delay(cfg, 2, 0.0), 200ms);
  EXPECT_EQ(et::backoff_delay(cfg, 3, 0.0), 400ms);
  EXPECT_EQ(et::backoff_delay(cfg, 5, 0.0), 1000ms);   // capped (would be 1600)
  EXPECT_EQ(et::backoff_delay(cfg, 40, 0.0), 1000ms);  // no overflow
  EXPECT_EQ(et::backoff_delay(cfg, 3, 0.999999), 200ms);
  for (double u = 0; u < 1; u += 0.01) {
    auto d = et::backoff_delay(cfg, 2, u);
    EXPECT_GE(d, 100ms);
    EXPECT_LE(d, 200ms);
  }
  cfg.jitter = 0;
  EXPECT_EQ(et::backoff_delay(cfg, 2, 0.7), 200ms);
}

TEST(RetryAfter, MillisecondsSecondsAndHttpDate) {
  using std::chrono::milliseconds;
  EXPECT_EQ(et::parse_retry_after("", "1500"), milliseconds(1500));  // retry-after-ms wins
  EXPECT_EQ(et::parse_retry_after("3", "250"), milliseconds(250));
  EXPECT_EQ(et::parse_retry_after("2", ""), milliseconds(2000));
  EXPECT_EQ(et::parse_retry_after(" 0 ", ""), milliseconds(0));
  EXPECT_EQ(et::parse_retry_after("", ""), std::nullopt);
  EXPECT_EQ(et::parse_retry_after("-1", ""), std::nullopt);
  EXPECT_EQ(et::parse_retry_after("soon", ""), std::nullopt);
  EXPECT_EQ(et::parse_retry_after("99999999999999999999", ""), std::nullopt);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s since the epoch (RFC 9110's example).
  const auto now = std::chrono::system_clock::from_time_t(784111777 - 30);
  EXPECT_EQ(et::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", "", now), milliseconds(30000));
  const auto later = std::chrono::system_clock::from_time_t(784111777 + 30);
  EXPECT_EQ(et::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", "", later), milliseconds(0));
  EXPECT_EQ(et::parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", "", now), std::nullopt);
}

TEST(RetryPolicy, RetryableStatuses) {
  for (int s : {408, 429, 500, 502, 503, 504, 599}) EXPECT_TRUE(et::is_retryable_status(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 422, 501, 505}) EXPECT_FALSE(et::is_retryable_status(s)) << s;
}

namespace {
struct fake_clock {
  et::circuit_breaker::clock::time_point now{};
  et::circuit_breaker::now_function fn() {
    return [this] { return now; };
  }
};
using permit = et::circuit_breaker::permit;
using outcome = et::circuit_breaker::outcome;
}  // namespace

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresHalfOpensThenCloses) {
  fake_clock clk;
  et::circuit_breaker b({.failure_threshold = 3, .open_duration = 1000ms, .half_open_max_probes = 1,
                         .success_threshold = 2},
                        clk.fn());
  EXPECT_EQ(b.state(), et::circuit_state::closed);
  // A success in between resets the count: failures must be consecutive.
  b.record(b.try_acquire(), outcome::failure);
  b.record(b.try_acquire(), outcome::failure);
  b.record(b.try_acquire(), outcome::success);
  b.record(b.try_acquire(), outcome::failure);
  b.record(b.try_acquire(), outcome::failure);
  EXPECT_EQ(b.state(), et::circuit_state::closed);
  b.record(b.try_acquire(), outcome::failure);
  EXPECT_EQ(b.state(), et::circuit_state::open);
  EXPECT_EQ(b.try_acquire(), permit::denied);
  clk.now += 999ms;
  EXPECT_EQ(b.state(), et::circuit_state::open);
  clk.now += 1ms;
  EXPECT_EQ(b.state(), et::circuit_state::half_open);
  const auto probe = b.try_acquire();
  EXPECT_EQ(probe, permit::probe);
  EXPECT_EQ(b.try_acquire(), permit::denied);  // one probe at a time
  b.record(probe, outcome::success);
  EXPECT_EQ(b.state(), et::circuit_state::half_open);  // needs two successes
  b.record(b.try_acquire(), outcome::success);
  EXPECT_EQ(b.state(), et::circuit_state::closed);
  EXPECT_EQ(b.stats().times_opened, 1u);
  EXPECT_GE(b.stats().refused, 2u);
}

TEST(CircuitBreaker, FailedProbeReopensAndNeutralOutcomesDoNotCount) {
  fake_clock clk;
  et::circuit_breaker b({.failure_threshold = 2, .open_duration = 100ms}, clk.fn());
  b.record(b.try_acquire(), outcome::neutral);
  b.record(b.try_acquire(), outcome::neutral);
  b.record(b.try_acquire(), outcome::neutral);
  EXPECT_EQ(b.state(), et::circuit_state::closed);
  const auto slow = b.try_acquire();  // admitted while closed, ends after the circuit opened
  b.record(b.try_acquire(), outcome::failure);
  b.record(b.try_acquire(), outcome::failure);
  EXPECT_EQ(b.state(), et::circuit_state::open);
  b.record(slow, outcome::success);  // must not close it
  EXPECT_EQ(b.state(), et::circuit_state::open);
  clk.now += 100ms;
  const auto probe = b.try_acquire();
  ASSERT_EQ(probe, permit::probe);
  b.record(probe, outcome::failure);
  EXPECT_EQ(b.state(), et::circuit_state::open);
  EXPECT_EQ(b.stats().times_opened, 2u);
  clk.now += 50ms;
  EXPECT_EQ(b.state(), et::circuit_state::open);  // a fresh open period
  clk.now += 50ms;
  EXPECT_EQ(b.state(), et::circuit_state::half_open);
  b.reset();
  EXPECT_EQ(b.state(), et::circuit_state::closed);
}

TEST(CircuitBreaker, ConcurrentUseKeepsCountsConsistent) {
  constexpr int threads_n = 8, per_thread = 5000;
  const auto hammer = [&](et::circuit_breaker& b, auto&& op) {
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_n; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) op(b, i);
      });
    for (auto& t : threads) t.join();
  };
  {
    // Alternating success/failure per thread: at most one failure per thread between resets,
    // so never 9 in a row -- a lost reset or a torn count would open it.
    et::circuit_breaker b({.failure_threshold = threads_n + 1});
    hammer(b, [](et::circuit_breaker& br, int i) {
      br.record(br.try_acquire(), i % 2 ? outcome::failure : outcome::success);
    });
    EXPECT_EQ(b.state(), et::circuit_state::closed);
    EXPECT_EQ(b.stats().times_opened, 0u);
    EXPECT_LE(b.stats().consecutive_failures, threads_n);
  }
  {
    // Only failures, threshold = all of them: every permit is taken before the last record, so
    // the count is exact and the circuit opens once, on the very last failure.
    fake_clock clk;
    et::circuit_breaker b({.failure_threshold = threads_n * per_thread, .open_duration = 50ms},
                          clk.fn());
    hammer(b, [](et::circuit_breaker& br, int) { br.record(br.try_acquire(), outcome::failure); });
    const auto st = b.stats();
    EXPECT_EQ(st.state, et::circuit_state::open);
    EXPECT_EQ(st.consecutive_failures, threads_n * per_thread);
    EXPECT_EQ(st.times_opened, 1u);
    EXPECT_EQ(st.refused, 0u);
    // While open every concurrent attempt is refused and counted once.
    std::atomic<int> granted{0};
    hammer(b, [&](et::circuit_breaker& br, int) {
      if (br.try_acquire() != et::circuit_breaker::permit::denied) ++granted;
    });
    EXPECT_EQ(granted.load(), 0);
    EXPECT_EQ(b.stats().refused, std::uint64_t(threads_n) * per_thread);
  }
}

TEST(BaseUrl, ParsesSchemesPortsPathsAndRejectsGarbage) {
  auto u = et::parse_base_url("http://127.0.0.1:8000/v1");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8000);
  EXPECT_EQ(u.endpoint("/chat/completions"), "/v1/chat/completions");
  auto s = et::parse_base_url("HTTPS://api.example.com/openai/v1/");
  EXPECT_TRUE(s.tls());
  EXPECT_EQ(s.port, 443);
  EXPECT_EQ(s.path, "/openai/v1");
  EXPECT_EQ(et::parse_base_url("http://localhost:9").path, "/v1");
  auto v6 = et::parse_base_url("http://[::1]:8080/v1");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.origin(), "http://[::1]:8080");
  for (const char* bad : {"localhost:8000", "ftp://x/v1", "http://:80/v1", "http://h:99999/v1",
                          "http://h:8a/v1", "http://u:p@h/v1", "http://h/v1?x=1", "http://[::1/v1",
                          // found by fuzz_transport: these parsed into hosts that origin() then
                          // wrote as a different, unparsable URL
                          "https://ps:x]:8ttps:/v1", "http://::1:8080/v1", "http://h:/v1",
                          "http://a b/v1", "http://[::1]x]/v1", "http://[v1.2]/v1"})
    EXPECT_THROW(et::parse_base_url(bad), edgecloud::config_error) << bad;
  // Every accepted URL re-parses from its own origin + path to the same parts.
  for (const char* good : {"http://127.0.0.1:8000/v1", "https://api.example.com/openai/v1/",
                           "http://[::1]:8080/v1", "http://[::ffff:10.0.0.1]/v1", "http://h.local"}) {
    const auto u = et::parse_base_url(good);
    const auto again = et::parse_base_url(u.origin() + u.path);
    EXPECT_EQ(again.host, u.host) << good;
    EXPECT_EQ(again.port, u.port) << good;
    EXPECT_EQ(again.path, u.path) << good;
  }
}

TEST(FaultSpec, ParsesHeaderSyntaxAndRejectsGarbage) {
  auto f = et::parse_fault_spec("delay=200; drip=20;status=429;retry_after=1;break=no_done");
  EXPECT_EQ(f.header_delay, 200ms);
  EXPECT_EQ(f.drip, 20ms);
  EXPECT_EQ(f.error_status, 429);
  EXPECT_EQ(f.error_rate, 1.0);  // a status without a rate means every request
  EXPECT_EQ(f.retry_after_s, 1);
  EXPECT_EQ(f.break_kind, et::stream_break::no_done);
  EXPECT_EQ(f.break_rate, 1.0);
  auto g = et::parse_fault_spec("status=500;rate=0.25;break=truncate;break_rate=0.5;huge=1000");
  EXPECT_EQ(g.error_rate, 0.25);
  EXPECT_EQ(g.break_rate, 0.5);
  EXPECT_EQ(g.huge_body_bytes, 1000u);
  for (const char* bad : {"delay", "delay=-1", "status=42", "break=explode", "color=red", "rate=x",
                          "rate=1.5", "break_rate=5.3", "retry_after=1e9"})
    EXPECT_THROW(et::parse_fault_spec(bad), edgecloud::config_error) << bad;
}

TEST(JsonMapping, RequestRoundTripsThroughTheServerReader) {
  et::chat_request req;
  req.messages = {{"system", "be brief"},
                  {"user", "weather in Paris?"},
                  {"assistant", "", {{"call_1", "get_weather", R"({"city":"Paris"})"}}},
                  {"tool", "18C sunny", {}, "call_1"}};
  req.tools = {{"get_weather", "current weather", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}};
  req.tool_choice = "get_weather";
  req.max_tokens = 64;
  req.temperature = 0.2;
  req.stop = {"\n\n"};
  req.stream = true;
  req.findings = {"weather", 0.42, "weather Paris today", "kb:weather", "tool_choice", "low confidence"};
  req.extra = {{"chat_template_kwargs", {{"enable_thinking", false}}}};
  const auto body = et::request_to_json(req, "qwen3-8b", et::findings_placement::body_field, true);
  EXPECT_EQ(body["model"], "qwen3-8b");
  EXPECT_EQ(body["edgecloud"]["intent"], "weather");
  EXPECT_EQ(body["edgecloud"]["confidence"], 0.42);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["chat_template_kwargs"]["enable_thinking"], false);
  EXPECT_EQ(body["tool_choice"]["function"]["name"], "get_weather");
  EXPECT_TRUE(body["messages"][2]["content"].is_null());

  et::chat_request back;
  ASSERT_EQ(et::request_from_json(body, back), "");
  EXPECT_EQ(back.messages, req.messages);
  EXPECT_EQ(back.model, "qwen3-8b");
  EXPECT_EQ(back.tools.size(), 1u);
  EXPECT_EQ(back.tools[0].parameters, req.tools[0].parameters);
  EXPECT_EQ(back.tool_choice, "get_weather");
  EXPECT_EQ(back.max_tokens, 64);
  EXPECT_EQ(back.stop, req.stop);
  EXPECT_TRUE(back.stream);
  EXPECT_EQ(back.findings.rewritten_query, "weather Paris today");
  EXPECT_EQ(back.findings.confidence, 0.42);

  // Placement "header" or "none" keeps the body free of the extension field.
  EXPECT_FALSE(et::request_to_json(req, "m", et::findings_placement::header, false).contains("edgecloud"));
  EXPECT_FALSE(et::request_to_json(req, "m", et::findings_placement::none, false).contains("stream_options"));
}

TEST(JsonMapping, ServerReaderRejectsBadRequests) {
  et::chat_request r;
  EXPECT_NE(et::request_from_json(nlohmann::json::array(), r), "");
  EXPECT_NE(et::request_from_json({{"messages", nlohmann::json::array()}}, r), "");
  EXPECT_NE(et::request_from_json({{"messages", {1, 2}}}, r), "");
  EXPECT_NE(et::request_from_json({{"messages", {{{"content", "no role"}}}}}, r), "");
  EXPECT_NE(et::request_from_json({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"tools", {5}}}, r), "");
  // Every field read is checked and the offending one named (OpenAI's error.param); nothing
  // is truncated (2.5 max_tokens) or dropped (a non-array tools) silently.
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"max_tokens", -5}, {"max_tokens", 2.5}, {"max_tokens", "8"}, {"temperature", 2.5},
           {"top_p", 1.5}, {"seed", 1.5}, {"n", 0}, {"stop", {1}}, {"tools", "x"},
           {"tool_choice", 3}, {"response_format", "json"}, {"stream", 1}}) {
    et::chat_request q;
    std::string param;
    nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {field, value}};
    EXPECT_NE(et::request_from_json(body, q, &param), "") << body.dump();
    EXPECT_EQ(param, field) << body.dump();
  }
  {  // valid values are read as given
    et::chat_request q;
    ASSERT_EQ(et::request_from_json(nlohmann::json::parse(
                  R"({"messages":[{"role":"user","content":"x"}],"max_tokens":3.0,"n":2,
                      "temperature":0.5,"response_format":{"type":"json_object"},"stop":"END"})"),
                  q), "");
    EXPECT_EQ(q.max_tokens, 3);
    EXPECT_EQ(q.n, 2);
    EXPECT_EQ(q.temperature, 0.5);
    EXPECT_EQ(q.response_format, "json_object");
    EXPECT_EQ(q.stop, std::vector<std::string>{"END"});
    const auto back = et::request_to_json(q, "m", et::findings_placement::none, false);
    EXPECT_EQ(back["n"], 2);
    EXPECT_EQ(back["response_format"]["type"], "json_object");
  }
  {  // chat_template_kwargs reach the backend (the engine reads enable_thinking there)
    et::chat_request q;
    ASSERT_EQ(et::request_from_json(nlohmann::json::parse(
                  R"({"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":{"enable_thinking":true}})"),
                  q), "");
    EXPECT_EQ(q.extra["chat_template_kwargs"]["enable_thinking"], true);
    std::string param;
    EXPECT_NE(et::request_from_json(nlohmann::json::parse(
                  R"({"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":true})"), q, &param), "");
    EXPECT_EQ(param, "chat_template_kwargs");
  }
  // Content given as an array of parts is joined.
  et::chat_request parts;
  ASSERT_EQ(et::request_from_json(nlohmann::json::parse(
                R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]}]})"),
                parts), "");
  EXPECT_EQ(parts.messages[0].content, "ab");
}

TEST(JsonMapping, CompletionRoundTripAndErrorBodies) {
  et::generation_result g{"", {{"call_0", "f", "{}"}}, "tool_calls", {3, 1}};
  const auto j = et::completion_to_json("id1", "m", 0, g);
  et::chat_response out;
  ASSERT_EQ(et::completion_from_json(j, out), "");
  EXPECT_EQ(out.tool_calls, g.tool_calls);
  EXPECT_EQ(out.finish_reason, "tool_calls");
  EXPECT_EQ(out.usage.total(), 4);
  et::chat_response bad;
  EXPECT_NE(et::completion_from_json(nlohmann::json::parse(R"({"choices":[]})"), bad), "");
  EXPECT_NE(et::completion_from_json(nlohmann::json::parse(R"({"choices":[{"message":3}]})"), bad), "");
  EXPECT_EQ(et::error_message_from_body(R"({"error":{"message":"model overloaded","type":"x"}})"),
            "model overloaded");
  EXPECT_EQ(et::error_message_from_body("<html>\nBad Gateway</html>"), "<html> Bad Gateway</html>");
}

TEST(EchoBackend, DeterministicPiecesMaxTokensAndToolCalls) {
  et::echo_backend echo;
  et::chat_request req;
  req.messages = {{"system", "sys prompt"}, {"user", "hello big  world"}};
  std::string streamed;
  auto r = echo(req, [&](std::string_view d) {
    streamed += d;
    return true;
  });
  EXPECT_EQ(r.content, "echo: hello big  world");
  EXPECT_EQ(streamed, r.content);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.prompt_tokens, 5);
  EXPECT_EQ(r.usage.completion_tokens, 4);
  req.max_tokens = 2;
  r = echo(req, {});
  EXPECT_EQ(r.content, "echo: hello ");
  EXPECT_EQ(r.finish_reason, "length");
  req.max_tokens.reset();
  req.tools = {{"get_weather", "", {}}};
  req.messages.back().content = R"(call get_weather {"city":"Oslo"})";
  r = echo(req, {});
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"city":"Oslo"})");
  EXPECT_EQ(r.finish_reason, "tool_calls");
  req.messages.back().content = "what now";
  req.tool_choice = "required";
  r = echo(req, {});
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"query":"what now"})");
}

TEST(LoopbackTransport, SatisfiesTheConceptStreamsAndCancels) {
  et::loopback_transport t;
  et::chat_request req;
  req.messages = {{"user", "a b c"}};
  req.stream = true;
  std::string seen;
  et::call_options opts;
  opts.on_delta = [&](const et::stream_delta& d) {
    seen += d.content;
    return true;
  };
  auto r = t.complete(req, opts);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(seen, "echo: a b c");
  std::stop_source stop;
  stop.request_stop();
  opts.cancel = stop.get_token();
  EXPECT_EQ(t.complete(req, opts).status, et::call_status::cancelled);
  EXPECT_EQ(t.circuit(), et::circuit_state::closed);
}
