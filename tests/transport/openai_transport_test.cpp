// SPDX-License-Identifier: Apache-2.0
// openai_transport against a real openai_server on loopback: answers (plain, streamed, tool
// calls, findings), and every injected fault ending in an explicit answer within the deadline —
// retries with backoff and Retry-After, the circuit breaker, cancellation, slow drips, broken
// streams, oversized bodies, TLS, and many threads sharing one transport.
#include "transport/support.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

using namespace edgecloud::testing;

namespace {

// A loopback port bound but not listening: connecting to it is refused, and no other process
// (ctest -j) can take it while this object holds it.
class refusing_port {
 public:
  refusing_port() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port_ = ntohs(addr.sin_port);
  }
  ~refusing_port() {
    if (fd_ >= 0) ::close(fd_);
  }
  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;
  int port() const { return port_; }  // 0 when the socket could not be bound

 private:
  int fd_;
  int port_ = 0;
};

// "PORT/v1" of a test server's "http://127.0.0.1:PORT/v1", to reach it under another host name.
std::string port_and_path(const std::string& url) { return url.substr(url.rfind(':') + 1); }

et::openai_transport faulty(const test_server& s, const std::string& spec,
                            std::function<void(et::openai_transport_config&)> tweak = {}) {
  auto cfg = quick_config(s.url());
  cfg.headers = {{"X-Edgecloud-Fault", spec}};
  if (tweak) tweak(cfg);
  return et::openai_transport(cfg);
}

}  // namespace

TEST(OpenAiTransport, PlainAnswer) {
  test_server s;
  et::openai_transport t(quick_config(s.url()));
  auto r = t.complete(user_request("hello there"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "echo: hello there");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.model, "test-model");
  EXPECT_EQ(r.usage.prompt_tokens, 2);
  EXPECT_EQ(r.usage.completion_tokens, 3);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_GE(r.timing.first_byte_ms, 0);
  const auto served_completed = [&] { return std::uint64_t(s.server.stats().completed); };
  EXPECT_EQ(wait_for_count(served_completed, 1u), static_cast<std::uint64_t>(1u));
  EXPECT_EQ(t.stats().succeeded, 1u);
}

TEST(OpenAiTransport, StreamedAnswerArrivesAsOrderedDeltas) {
  test_server s;
  et::openai_transport t(quick_config(s.url()));
  std::vector<std::string> deltas;
  et::call_options opts;
  opts.on_delta = [&](const et::stream_delta& d) {
    deltas.emplace_back(d.content);
    return true;
  };
  auto r = t.complete(user_request("one two three four", true), opts);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "echo: one two three four");
  EXPECT_EQ(deltas, (std::vector<std::string>{"echo: ", "one ", "two ", "three ", "four"}));
  EXPECT_EQ(r.usage.completion_tokens, 5);  // from the include_usage chunk
  EXPECT_GE(r.timing.first_token_ms, r.timing.first_byte_ms);
  EXPECT_EQ(s.server.stats().streamed, 1u);
  const auto served_completed = [&] { return std::uint64_t(s.server.stats().completed); };
  EXPECT_EQ(wait_for_count(served_completed, 1u), static_cast<std::uint64_t>(1u));
}

TEST(OpenAiTransport, ToolCallsOutAndToolResultsIn) {
  std::mutex m;
  std::vector<et::chat_request> seen;
  et::echo_backend echo;
  test_server s({}, [&](const et::chat_request& req, const et::delta_sink& sink) {
    {
      std::lock_guard lock(m);
      seen.push_back(req);
    }
    return echo(req, sink);
  });
  et::openai_transport t(quick_config(s.url()));
  auto req = user_request(R"(call get_weather {"city":"Paris"})");
  req.tools = {{"get_weather",
                "current weather for a city",
                {{"type", "object"},
                 {"properties", {{"city", {{"type", "string"}}}}},
                 {"required", {"city"}}}}};
  for (bool stream : {false, true}) {
    req.stream = stream;
    const et::tool_call* streamed_call = nullptr;
    et::call_options opts;
    opts.on_delta = [&](const et::stream_delta& d) {
      if (d.tool_call_update) streamed_call = d.tool_call_update;
      return true;
    };
    auto r = t.complete(req, opts);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0], (et::tool_call{"call_0", "get_weather", R"({"city":"Paris"})"}));
    EXPECT_EQ(r.finish_reason, "tool_calls");
    if (stream) EXPECT_NE(streamed_call, nullptr);
  }
  // The tool's result goes back in; the server sees the whole conversation.
  auto follow = req;
  follow.stream = false;
  follow.messages.push_back({"assistant", "", {{"call_0", "get_weather", R"({"city":"Paris"})"}}});
  follow.messages.push_back({"tool", "18C, sunny", {}, "call_0"});
  follow.messages.push_back({"user", "thanks"});
  auto r = t.complete(follow);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "echo: thanks");
  std::lock_guard lock(m);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].messages, follow.messages);
  EXPECT_EQ(seen[0].tools[0].parameters, req.tools[0].parameters);
}

TEST(OpenAiTransport, EdgeFindingsReachTheServerInBodyOrHeader) {
  std::mutex m;
  std::vector<et::edge_findings> seen;
  test_server s({}, [&](const et::chat_request& req, const et::delta_sink& sink) {
    {
      std::lock_guard lock(m);
      seen.push_back(req.findings);
    }
    return et::echo_backend{}(req, sink);
  });
  auto req = user_request("天气怎么样?");
  req.findings = {"weather",       0.61, "北京 今天 天气", "kb:weather", "open_dialogue",
                  "confidence<0.9"};
  for (auto placement : {et::findings_placement::body_field, et::findings_placement::header,
                         et::findings_placement::none}) {
    auto cfg = quick_config(s.url());
    cfg.findings = placement;
    et::openai_transport t(cfg);
    auto r = t.complete(req);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.content, "echo: 天气怎么样?");
  }
  std::lock_guard lock(m);
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(seen[i].intent, "weather");
    EXPECT_EQ(seen[i].confidence, 0.61);
    EXPECT_EQ(seen[i].rewritten_query, "北京 今天 天气");  // non-ASCII survives the header too
    EXPECT_EQ(seen[i].retrieval_hint, "kb:weather");
  }
  EXPECT_TRUE(seen[2].empty());
}

TEST(OpenAiTransport, ApiKeyIsSentAndAWrongOneIsNotRetried) {
  et::openai_server_config sc;
  sc.api_key = "sk-test-123";
  test_server s(sc);
  auto cfg = quick_config(s.url());
  cfg.api_key = "wrong";
  cfg.breaker.failure_threshold = 1;
  et::openai_transport bad(cfg);
  auto r = bad.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::http_error);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_EQ(r.attempts, 1);  // 4xx is not transient
  EXPECT_NE(r.error.find("invalid API key"), std::string::npos) << r.error;
  EXPECT_EQ(bad.circuit(), et::circuit_state::closed);  // and says nothing of server health
  cfg.api_key = "sk-test-123";
  et::openai_transport good(cfg);
  EXPECT_TRUE(good.complete(user_request("x")).ok());
}

TEST(OpenAiTransport, RetriesServerErrorsWithBackoffUntilSuccess) {
  test_server s;
  s.server.fail_next(2, 503);
  auto cfg = quick_config(s.url());
  cfg.retry.initial_backoff = 40ms;
  cfg.retry.max_backoff = 1000ms;
  cfg.retry.jitter = 0;
  et::openai_transport t(cfg);
  auto r = t.complete(user_request("again"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(s.server.stats().chat_completions, 3u);
  EXPECT_EQ(s.server.stats().injected_errors, 2u);
  EXPECT_GE(r.timing.backoff_ms, 40 + 80 - 2);  // 40 ms, then 80 ms
  EXPECT_EQ(t.stats().retries, 2u);
}

TEST(OpenAiTransport, HonoursRetryAfter) {
  test_server s;
  s.server.fail_next(1, 429, 1);
  auto cfg = quick_config(s.url());
  cfg.retry.initial_backoff = 1ms;
  et::openai_transport t(cfg);
  auto r = t.complete(user_request("later"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(r.timing.backoff_ms, 995);  // the server's 1 s, not our 1 ms
}

TEST(OpenAiTransport, RetryAfterBeyondTheDeadlineFailsAtOnce) {
  test_server s;
  s.server.fail_next(1, 429, 30);
  auto cfg = quick_config(s.url());
  cfg.timeouts.total = 2000ms;
  et::openai_transport t(cfg);
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::http_error);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_NE(r.error.find("Retry-After"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("would pass the deadline"), std::string::npos) << r.error;
  // No pointless wait: it gave up before sleeping (no backoff at all) and sent nothing more.
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.timing.backoff_ms, 0.0);
  EXPECT_EQ(t.stats().retries, 0u);
  EXPECT_EQ(s.server.stats().chat_completions, 1u);
}

TEST(OpenAiTransport, GivesUpAfterMaxAttemptsWithTheLastError) {
  test_server s;
  auto t = faulty(s, "status=500");
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::http_error);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_NE(r.error.find("HTTP 500"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("attempt 3 of 3"), std::string::npos) << r.error;
  EXPECT_EQ(s.server.stats().chat_completions, 3u);
}

TEST(OpenAiTransport, CircuitBreakerOpensRefusesHalfOpensAndCloses) {
  test_server s;
  auto cfg = quick_config(s.url());
  cfg.retry.max_attempts = 1;
  // The breaker's clock is the test's: open_duration passes when the test says so, however
  // slow the machine.
  auto now = std::make_shared<std::atomic<et::circuit_breaker::clock::rep>>(0);
  cfg.breaker_clock = [now] {
    return et::circuit_breaker::clock::time_point(et::circuit_breaker::clock::duration(now->load()));
  };
  const auto advance = [now](std::chrono::milliseconds d) {
    now->fetch_add(std::chrono::duration_cast<et::circuit_breaker::clock::duration>(d).count());
  };
  cfg.breaker = {.failure_threshold = 3,
                 .open_duration = 1000ms,
                 .half_open_max_probes = 1,
                 .success_threshold = 1};
  et::openai_transport t(cfg);
  s.server.fail_next(3, 502);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(t.complete(user_request("x")).status, et::call_status::http_error);
  EXPECT_EQ(t.circuit(), et::circuit_state::open);
  const auto served = s.server.stats().chat_completions;
  auto refused = t.complete(user_request("x"));
  EXPECT_EQ(refused.status, et::call_status::circuit_open);
  EXPECT_EQ(refused.attempts, 0);
  EXPECT_EQ(s.server.stats().chat_completions, served);  // no network while open
  advance(999ms);
  EXPECT_EQ(t.circuit(), et::circuit_state::open) << "open_duration has not passed yet";
  advance(1ms);
  EXPECT_EQ(t.circuit(), et::circuit_state::half_open);
  // A failing probe opens it again...
  s.server.fail_next(1, 503);
  EXPECT_FALSE(t.complete(user_request("x")).ok());
  EXPECT_EQ(t.circuit(), et::circuit_state::open);
  EXPECT_EQ(t.complete(user_request("x")).status, et::call_status::circuit_open);
  advance(1000ms);
  // ...a successful one closes it.
  auto probe = t.complete(user_request("probe"));
  ASSERT_TRUE(probe.ok()) << probe.error;
  EXPECT_EQ(t.circuit(), et::circuit_state::closed);
  EXPECT_EQ(t.breaker().stats().times_opened, 2u);
}

TEST(OpenAiTransport, CancellationFromAnotherThreadWhileWaitingForHeaders) {
  test_server s;
  // The server holds the headers for 60 s, past the call's own limits (20 s): only an honoured
  // cancellation can end the call as `cancelled`; an ignored one ends as a timeout.
  auto t = faulty(s, "delay=60000", [](auto& c) {
    c.timeouts.first_byte = 20000ms;
    c.timeouts.total = 20000ms;
  });
  std::stop_source stop;
  et::call_options opts;
  opts.cancel = stop.get_token();
  std::thread canceller([&] {
    // Cancel once the server holds the request (an event, not a guessed sleep).
    wait_for_count([&] { return std::uint64_t(s.server.stats().chat_completions); }, 1u, 20000ms);
    stop.request_stop();
  });
  auto r = t.complete(user_request("x"), opts);
  canceller.join();
  EXPECT_EQ(r.status, et::call_status::cancelled) << r.error;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(t.stats().cancelled, 1u);
  EXPECT_EQ(t.stats().timeouts, 0u);
  EXPECT_EQ(t.circuit(), et::circuit_state::closed);
}

TEST(OpenAiTransport, CancellationMidStreamAndFromTheCallback) {
  test_server s;
  auto t = faulty(s, "drip=100");
  const std::string long_text = "a b c d e f g h i j k l m n o p q r s t u v w x y z";
  {
    std::stop_source stop;
    et::call_options opts;
    opts.cancel = stop.get_token();
    std::atomic<int> deltas{0};
    opts.on_delta = [&](const et::stream_delta&) {
      if (++deltas == 2) stop.request_stop();
      return true;
    };
    auto r = t.complete(user_request(long_text, true), opts);
    EXPECT_EQ(r.status, et::call_status::cancelled);
    EXPECT_EQ(r.attempts, 1);
    // It did not wait for the whole drip: the answer stopped soon after the second delta (a
    // delta may be in flight when the stop is seen), well before the 27 the full echo takes.
    EXPECT_GE(deltas.load(), 2);
    EXPECT_LE(deltas.load(), 4);
    EXPECT_LT(r.content.size(), ("echo: " + long_text).size()) << r.content;
  }
  {
    et::call_options opts;
    int deltas = 0;
    opts.on_delta = [&](const et::stream_delta&) { return ++deltas < 3; };
    auto r = t.complete(user_request(long_text, true), opts);
    EXPECT_EQ(r.status, et::call_status::cancelled);
    EXPECT_EQ(deltas, 3);
  }
}

TEST(OpenAiTransport, SlowDripNeverPassesTheDeadline) {
  test_server s;
  const std::string long_text(200, 'w');  // a long plain body, 32 bytes per 150 ms
  std::string words;
  for (int i = 0; i < 60; ++i) words += "word ";
  for (bool stream : {false, true}) {
    auto t = faulty(s, "drip=150", [](auto& c) {
      c.timeouts.total = 700ms;
      c.timeouts.idle = 5000ms;  // each gap is short: only the total deadline can stop it
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = t.complete(user_request(stream ? words : long_text, stream));
    EXPECT_EQ(r.status, et::call_status::timeout) << r.error;
    EXPECT_NE(r.error.find("deadline"), std::string::npos) << r.error;
    // Not before the deadline (a lower bound holds on any machine). That it ended at the
    // deadline rather than with the drip is the status: the full drip would answer `ok`.
    EXPECT_GE(elapsed_ms(t0), 690);
    EXPECT_EQ(r.attempts, 1);
  }
}

TEST(OpenAiTransport, FirstByteAndIdleTimeoutsPerAttempt) {
  test_server s;
  auto t = faulty(s, "delay=3000", [](auto& c) {
    c.timeouts.first_byte = 200ms;
    c.timeouts.total = 2000ms;
    c.retry.max_attempts = 2;
  });
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::timeout);
  EXPECT_EQ(r.attempts, 2);  // a slow first byte is worth one more try
  // Two attempts prove the per-attempt limit: without it the first attempt would run into the
  // 2 s deadline and there would be one attempt and a "deadline" error.
  EXPECT_NE(r.error.find("no response headers within 200 ms"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("deadline"), std::string::npos) << r.error;

  auto idle = faulty(s, "drip=600", [](auto& c) {
    c.timeouts.idle = 200ms;
    c.retry.max_attempts = 1;
  });
  auto r2 = idle.complete(user_request("a b c d e", true));
  EXPECT_EQ(r2.status, et::call_status::timeout);
  // The idle limit (200 ms) applied, not first_byte (3 s) nor the deadline.
  EXPECT_NE(r2.error.find("stalled"), std::string::npos) << r2.error;
  EXPECT_EQ(r2.error.find("deadline"), std::string::npos) << r2.error;
  EXPECT_EQ(r2.attempts, 1);
}

TEST(OpenAiTransport, BrokenStreamsEndInExplicitAnswers) {
  test_server s;
  const std::string text = "one two three four five";
  struct expectation {
    const char* spec;
    bool stream;
    std::set<et::call_status> allowed;
  };
  const std::vector<expectation> cases = {
      {"break=truncate",
       true,
       {et::call_status::connection_error, et::call_status::protocol_error}},
      {"break=close_early",
       true,
       {et::call_status::connection_error, et::call_status::protocol_error}},
      {"break=malformed", true, {et::call_status::protocol_error}},
      {"break=interleave", true, {et::call_status::protocol_error}},
      {"break=truncate", false, {et::call_status::connection_error}},
      {"break=close_early", false, {et::call_status::connection_error}},
      {"break=malformed", false, {et::call_status::protocol_error}},
  };
  for (const auto& c : cases) {
    auto t = faulty(s, c.spec);
    auto r = t.complete(user_request(text, c.stream));
    EXPECT_FALSE(r.ok()) << c.spec << " stream=" << c.stream;
    EXPECT_TRUE(c.allowed.count(r.status))
        << c.spec << " stream=" << c.stream << ": " << et::to_string(r.status) << " " << r.error;
    EXPECT_FALSE(r.error.empty());
    // An explicit answer, not the deadline running out on a broken stream.
    EXPECT_NE(r.status, et::call_status::timeout) << c.spec << ": " << r.error;
  }
  // Malformed JSON is not retried by default; an early close is.
  EXPECT_EQ(faulty(s, "break=malformed").complete(user_request(text, true)).attempts, 1);
  EXPECT_EQ(faulty(s, "break=close_early").complete(user_request(text, true)).attempts, 3);
  EXPECT_EQ(
      faulty(s, "break=interleave").complete(user_request(text, true)).error.find("interleaved") ==
          std::string::npos,
      false);
}

TEST(OpenAiTransport, StreamWithoutDoneIsAcceptedOnlyWhenItFinished) {
  test_server s;
  auto lenient = faulty(s, "break=no_done");
  auto r = lenient.complete(user_request("a b", true));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "echo: a b");
  EXPECT_EQ(r.finish_reason, "stop");
  auto strict = faulty(s, "break=no_done", [](auto& c) {
    c.require_done_marker = true;
    c.retry.max_attempts = 1;
  });
  auto r2 = strict.complete(user_request("a b", true));
  EXPECT_EQ(r2.status, et::call_status::protocol_error);
  EXPECT_NE(r2.error.find("[DONE]"), std::string::npos) << r2.error;
}

TEST(OpenAiTransport, PartOfTheAnswerAlreadyShownIsNotRetried) {
  test_server s;
  auto t = faulty(s, "break=close_early");
  std::string shown;
  et::call_options opts;
  opts.on_delta = [&](const et::stream_delta& d) {
    shown += d.content;
    return true;
  };
  auto r = t.complete(user_request("one two three", true), opts);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.error.find("not retried"), std::string::npos) << r.error;
  EXPECT_EQ(shown, "echo: ");  // what was shown is exactly what arrived
  EXPECT_EQ(r.content, shown);
}

TEST(OpenAiTransport, HugeBodiesAreCappedNotBuffered) {
  test_server s;
  for (bool stream : {false, true}) {
    auto t = faulty(s, "huge=50000000", [](auto& c) { c.max_response_bytes = 1 << 20; });
    auto r = t.complete(user_request("x", stream));
    EXPECT_EQ(r.status, et::call_status::body_too_large) << r.error;
    EXPECT_EQ(r.attempts, 1);
    EXPECT_NE(r.error.find("1048576"), std::string::npos) << r.error;
    EXPECT_LE(r.content.size(), std::size_t(1) << 20);  // capped, not buffered
  }
}

TEST(OpenAiTransport, ConnectionRefusedIsRetriedThenReported) {
  const refusing_port refusing;
  ASSERT_NE(refusing.port(), 0);
  auto t = et::openai_transport(
      quick_config("http://127.0.0.1:" + std::to_string(refusing.port()) + "/v1"));
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_NE(r.error.find("127.0.0.1"), std::string::npos) << r.error;
}

TEST(OpenAiTransport, HttpsWithVerificationAgainstASelfSignedCertificate) {
  self_signed_cert cert;
  et::openai_server_config sc;
  sc.tls_cert_file = cert.cert.string();
  sc.tls_key_file = cert.key.string();
  test_server s(sc);
  ASSERT_EQ(s.url().rfind("https://", 0), 0u);
  auto cfg = quick_config(s.url());
  cfg.tls.ca_cert_file = cert.cert.string();
  et::openai_transport trusted(cfg);
  for (bool stream : {false, true}) {
    auto r = trusted.complete(user_request("over tls", stream));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.content, "echo: over tls");
  }
  // The system store does not know our certificate: a clear, non-retried failure.
  auto untrusted_cfg = quick_config(s.url());
  et::openai_transport untrusted(untrusted_cfg);
  auto r = untrusted.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.error.find("certificate"), std::string::npos) << r.error;
  untrusted_cfg.tls.verify_peer = false;
  EXPECT_TRUE(et::openai_transport(untrusted_cfg).complete(user_request("x")).ok());
}

TEST(OpenAiTransport, ManyThreadsShareOneTransport) {
  et::openai_server_config sc;
  sc.worker_threads = 16;
  test_server s(sc);
  auto cfg = quick_config(s.url());
  cfg.timeouts.total = 20000ms;
  et::openai_transport t(cfg);
  constexpr int threads = 12, per_thread = 20;
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      for (int j = 0; j < per_thread; ++j) {
        const std::string text = "thread " + std::to_string(i) + " call " + std::to_string(j);
        const bool stream = (i + j) % 2 == 0;
        std::string deltas;
        et::call_options opts;
        opts.on_delta = [&](const et::stream_delta& d) {
          deltas += d.content;
          return true;
        };
        auto r = t.complete(user_request(text, stream), opts);
        if (r.ok() && r.content == "echo: " + text && (!stream || deltas == r.content))
          ++ok;
        else
          ++wrong;
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(ok.load(), threads * per_thread);
  EXPECT_EQ(wrong.load(), 0);
  const auto st = t.stats();
  EXPECT_EQ(st.calls, static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(st.succeeded, st.calls);
  const auto served_completed = [&] { return std::uint64_t(s.server.stats().completed); };
  EXPECT_EQ(wait_for_count(served_completed, threads * per_thread),
            static_cast<std::uint64_t>(threads * per_thread));
}

TEST(OpenAiTransport, CompleteOrThrowRaisesTransportError) {
  test_server s;
  auto t = faulty(s, "status=400");
  EXPECT_THROW(t.complete_or_throw(user_request("x")), edgecloud::transport_error);
  EXPECT_THROW(et::openai_transport(quick_config("nonsense")), edgecloud::config_error);
}

// Name resolution is bounded by the deadline without relying on the clock in the assertion: the
// resolver below blocks until the test releases it, so a call that returns at all while it is
// still blocked was ended by the bound (and not by the resolver answering).
TEST(OpenAiTransport, AHangingResolverCannotHoldACallPastItsDeadline) {
  struct gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    int calls = 0;
  };
  auto g = std::make_shared<gate>();
  auto c = quick_config("http://cloud.invalid:9/v1");
  c.timeouts.connect = 200ms;
  c.timeouts.total = 400ms;
  c.resolver = [g](const std::string&) -> std::string {
    std::unique_lock lock(g->m);
    ++g->calls;
    g->cv.wait(lock, [&] { return g->open; });
    return "127.0.0.1";
  };
  et::openai_transport t(c);
  const auto r = t.complete(user_request("x"));
  bool still_blocked;
  {
    std::lock_guard lock(g->m);
    still_blocked = !g->open && g->calls >= 1;
    g->open = true;
  }
  g->cv.notify_all();
  EXPECT_TRUE(still_blocked);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status == et::call_status::timeout || r.status == et::call_status::connection_error)
      << et::to_string(r.status);
  EXPECT_NE(r.error.find("resolving host cloud.invalid"), std::string::npos) << r.error;
}

TEST(OpenAiTransport, ResolvedNameIsUsedCachedAndFailuresAreReported) {
  test_server s;
  std::atomic<int> calls{0};
  auto c = quick_config("http://edge-cloud.test:" + port_and_path(s.url()));
  c.resolver = [&](const std::string& host) -> std::string {
    ++calls;
    EXPECT_EQ(host, "edge-cloud.test");
    return "127.0.0.1";
  };
  et::openai_transport t(c);
  for (int i = 0; i < 2; ++i) {
    const auto r = t.complete(user_request("via a name"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.content, "echo: via a name");
  }
  EXPECT_EQ(calls.load(), 1);  // the second call used the cached address

  auto bad = quick_config("http://no-such-host.test:" + port_and_path(s.url()));
  bad.resolver = [](const std::string&) -> std::string {
    throw std::runtime_error("Name or service not known");
  };
  et::openai_transport failing(bad);
  const auto r = failing.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error);
  EXPECT_EQ(r.attempts, 3);  // retried like other connection errors
  EXPECT_NE(r.error.find("cannot resolve host no-such-host.test: Name or service not known"),
            std::string::npos)
      << r.error;
}

TEST(OpenAiTransport, AFailedConnectionForgetsTheResolvedAddress) {
  const refusing_port refusing;
  ASSERT_NE(refusing.port(), 0);
  std::atomic<int> calls{0};
  auto c = quick_config("http://moved.test:" + std::to_string(refusing.port()) + "/v1");
  c.resolver = [&](const std::string&) -> std::string {
    ++calls;
    return "127.0.0.1";
  };
  et::openai_transport t(c);
  const auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(calls.load(), 3);  // asked again before every attempt after a failed connect
}

TEST(OpenAiTransport, LocalhostResolvesWithTheSystemResolver) {
  test_server s;
  auto t = et::openai_transport(quick_config("http://localhost:" + port_and_path(s.url())));
  const auto r = t.complete(user_request("by name"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "echo: by name");
}
