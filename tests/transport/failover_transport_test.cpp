// SPDX-License-Identifier: Apache-2.0
// failover_transport over two real OpenAI-compatible servers on loopback: a failing or
// unreachable primary hands the call to the secondary; a request error, cancellation or a
// stream that already showed text does not move on; an open circuit is skipped without
// network; the whole is open only when every endpoint is; per-endpoint counters add up.
#include <gtest/gtest.h>

#include <edgecloud/assistant.hpp>
#include <edgecloud/transport/failover_transport.hpp>

#include "transport/support.hpp"

namespace {

using namespace edgecloud;
using edgecloud::testing::quick_config;
using edgecloud::testing::test_server;
using edgecloud::testing::user_request;
namespace et = edgecloud::transport;

struct two_regions {
  test_server primary, secondary;
  et::failover_config config(int primary_attempts = 1, int breaker_failures = 1000,
                             int secondary_breaker_failures = 1000) const {
    auto a = quick_config(primary.url());
    a.retry.max_attempts = primary_attempts;
    a.breaker.failure_threshold = breaker_failures;
    a.breaker.open_duration = std::chrono::milliseconds(600000);
    auto b = quick_config(secondary.url());
    b.retry.max_attempts = 1;
    b.breaker.failure_threshold = secondary_breaker_failures;
    b.breaker.open_duration = std::chrono::milliseconds(600000);
    return et::failover_config{{a, b}};
  }
  uint64_t primary_calls() const { return primary.server.stats().chat_completions; }
  uint64_t secondary_calls() const { return secondary.server.stats().chat_completions; }
};

TEST(FailoverTransport, HealthyPrimaryAnswersAlone) {
  two_regions r;
  et::failover_transport t(r.config());
  const auto out = t.complete(user_request("hello there"));
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(out.content, "echo: hello there");
  EXPECT_EQ(r.primary_calls(), 1u);
  EXPECT_EQ(r.secondary_calls(), 0u);
  const auto s = t.stats();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].calls, 1u);
  EXPECT_EQ(s[0].succeeded, 1u);
  EXPECT_EQ(s[1].calls, 0u);
}

TEST(FailoverTransport, ServerErrorMovesToTheSecondary) {
  two_regions r;
  r.primary.server.fail_next(1, 503);
  et::failover_transport t(r.config());
  const auto out = t.complete(user_request("hello there"));
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(out.content, "echo: hello there");
  EXPECT_EQ(r.secondary_calls(), 1u);
  const auto s = t.stats();
  EXPECT_EQ(s[0].failed, 1u);
  EXPECT_EQ(s[0].failovers, 1u);
  EXPECT_EQ(s[1].succeeded, 1u);
  EXPECT_EQ(t.to_json()["endpoints"][0]["failovers"], 1);
}

TEST(FailoverTransport, UnreachablePrimaryMovesToTheSecondary) {
  test_server secondary;
  auto a = quick_config("http://127.0.0.1:1/v1");  // nothing listens on port 1
  a.retry.max_attempts = 1;
  et::failover_transport t(et::failover_config{{a, quick_config(secondary.url())}});
  const auto out = t.complete(user_request("hi"));
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(t.stats()[0].failed, 1u);
  EXPECT_EQ(t.stats()[1].succeeded, 1u);
}

TEST(FailoverTransport, RequestErrorsDoNotMoveOn) {
  two_regions r;
  r.primary.server.fail_next(1, 400);  // the request is wrong: every endpoint would say so
  et::failover_transport t(r.config());
  const auto out = t.complete(user_request("hi"));
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.http_status, 400);
  EXPECT_EQ(r.secondary_calls(), 0u);
  EXPECT_EQ(t.stats()[0].failovers, 0u);
}

TEST(FailoverTransport, CancellationDoesNotMoveOn) {
  two_regions r;
  et::failover_transport t(r.config());
  std::stop_source stop;
  stop.request_stop();
  et::call_options o;
  o.cancel = stop.get_token();
  const auto out = t.complete(user_request("hi"), o);
  EXPECT_EQ(out.status, et::call_status::cancelled) << out.error;
  EXPECT_EQ(r.secondary_calls(), 0u);
}

TEST(FailoverTransport, StreamThatShowedTextIsNotStartedAgainElsewhere) {
  two_regions r;
  r.primary.server.set_faults(et::parse_fault_spec("break=close_early"));
  et::failover_transport t(r.config(/*primary_attempts=*/3));
  std::string shown;
  et::call_options o;
  o.on_delta = [&](const et::stream_delta& d) {
    shown += d.content;
    return true;
  };
  const auto out = t.complete(user_request("one two three four five", /*stream=*/true), o);
  EXPECT_FALSE(out.ok()) << "a broken stream is not an answer";
  EXPECT_FALSE(shown.empty()) << "close_early sends the first chunk";
  EXPECT_EQ(r.secondary_calls(), 0u) << "the secondary would have repeated the text shown";
  EXPECT_EQ(t.stats()[0].failovers, 0u);
}

TEST(FailoverTransport, StreamBrokenBeforeAnyTextMovesOn) {
  two_regions r;
  r.primary.server.fail_next(1, 502);
  et::failover_transport t(r.config());
  std::string shown;
  et::call_options o;
  o.on_delta = [&](const et::stream_delta& d) {
    shown += d.content;
    return true;
  };
  const auto out = t.complete(user_request("one two three", /*stream=*/true), o);
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(shown, "echo: one two three");
  EXPECT_EQ(shown, out.content);
}

TEST(FailoverTransport, OpenCircuitIsSkippedWithoutNetworkAndAllOpenIsOpen) {
  two_regions r;
  r.primary.server.fail_next(1000, 503);
  et::failover_transport t(r.config(/*primary_attempts=*/1, /*breaker_failures=*/2,
                                    /*secondary_breaker_failures=*/1));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(t.complete(user_request("hi")).ok());
  EXPECT_EQ(t.endpoint_transport(0).circuit(), et::circuit_state::open);
  EXPECT_EQ(t.circuit(), et::circuit_state::closed) << "the secondary still takes calls";
  const uint64_t primary_before = r.primary_calls();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.complete(user_request("hi")).ok());
  EXPECT_EQ(r.primary_calls(), primary_before) << "an open circuit must not reach its server";
  EXPECT_EQ(t.stats()[0].skipped_open, 3u);
  EXPECT_EQ(t.stats()[1].succeeded, 5u);

  r.secondary.server.fail_next(1000, 503);
  EXPECT_FALSE(t.complete(user_request("hi")).ok());  // the secondary's breaker opens
  EXPECT_EQ(t.circuit(), et::circuit_state::open);
  const uint64_t secondary_before = r.secondary_calls();
  const auto out = t.complete(user_request("hi"));
  EXPECT_EQ(out.status, et::call_status::circuit_open) << out.error;
  EXPECT_EQ(r.secondary_calls(), secondary_before);
}

TEST(FailoverTransport, AssistantAnswersFromTheSecondaryWithoutFallingBack) {
  two_regions r;
  r.primary.server.fail_next(1000, 503);
  basic_assistant<stand_in_edge, routing::confidence_policy, et::failover_transport> a(
      stand_in_edge{}, r.config());
  const auto out = a.ask("explain the history of tea");
  ASSERT_TRUE(out.answered);
  EXPECT_EQ(out.route, routing::route::cloud) << out.fallback_reason;
  EXPECT_FALSE(out.fallback);
  EXPECT_EQ(r.secondary_calls(), 1u);
}

TEST(FailoverTransport, NoEndpointsIsAConfigError) {
  EXPECT_THROW(et::failover_transport(et::failover_config{}), config_error);
}

}  // namespace
