// SPDX-License-Identifier: Apache-2.0
// Streaming through the assistant is the truth: an app that appends every delta and clears its
// text on every reset ends up showing exactly the final answer, whatever happens to the cloud
// stream. Against a real OpenAI-compatible server on loopback (transport/openai_server.hpp with
// fault injection) reached through the shipped openai_transport: a stream that breaks after its
// first chunk, one truncated mid-JSON, one dripping past the deadline, one cancelled by the app
// half way, each with one attempt and with three (the transport must never retry once text was
// shown, or the app would see it twice).
#include <gtest/gtest.h>

#include <edgecloud/assistant.hpp>
#include <stop_token>
#include <string>
#include <vector>

using namespace edgecloud;
using routing::route;

namespace {

// What the app saw, event by event, and the text it shows after applying them.
struct transcript {
  struct entry {
    answer_event::kind type;
    std::string text;
    route source;
  };
  std::vector<entry> events;
  std::string shown;

  answer_callback callback(std::function<bool(const answer_event&)> also = {}) {
    return [this, also](const answer_event& e) {
      events.push_back({e.type, std::string(e.type == answer_event::kind::delta ? e.text : e.reason),
                        e.source});
      if (e.type == answer_event::kind::reset)
        shown.clear();
      else
        shown += e.text;
      return also ? also(e) : true;
    };
  }
  size_t count(answer_event::kind k, route source) const {
    size_t n = 0;
    for (const auto& e : events) n += e.type == k && e.source == source;
    return n;
  }
  size_t resets() const {
    size_t n = 0;
    for (const auto& e : events) n += e.type == answer_event::kind::reset;
    return n;
  }
  // Concatenated cloud deltas before the first reset.
  std::string cloud_text() const {
    std::string s;
    for (const auto& e : events) {
      if (e.type == answer_event::kind::reset) break;
      if (e.source == route::cloud) s += e.text;
    }
    return s;
  }
};

// A long question so the echo backend's answer has many word pieces (one SSE chunk each).
const std::string question =
    "explain the history of tea from its origins in china through the silk road to the present";
const std::string cloud_answer = "echo: " + question;  // echo_backend's default prefix

struct stream_fixture {
  transport::openai_server server{transport::openai_server_config{},
                                  transport::generate_function(transport::echo_backend{})};
  stream_fixture() { server.start(); }
  transport::openai_transport_config transport_config(int attempts) const {
    transport::openai_transport_config c;
    c.base_url = server.base_url();
    c.model = "edgecloud-echo";
    c.retry.max_attempts = attempts;
    c.retry.initial_backoff = std::chrono::milliseconds(1);
    c.timeouts.total = std::chrono::milliseconds(20000);
    c.breaker.failure_threshold = 1000;
    return c;
  }
};

using http_assistant = basic_assistant<stand_in_edge>;

// The invariants every streamed answer keeps.
void expect_truthful(const transcript& t, const assistant_response& r) {
  ASSERT_TRUE(r.answered) << r.error;
  EXPECT_EQ(t.shown, r.answer) << "what the app shows must be the final answer";
  // Nothing shown twice: the cloud text before a reset is one prefix of the one answer.
  const std::string cloud = t.cloud_text();
  EXPECT_EQ(cloud_answer.rfind(cloud, 0), 0u) << "cloud text repeated or garbled: " << cloud;
  // A reset exactly when cloud text had been shown and then abandoned; it comes before every
  // edge delta and names the cloud's failure.
  const bool cloud_shown = t.count(answer_event::kind::delta, route::cloud) > 0;
  if (r.route == route::edge) {
    EXPECT_EQ(t.resets(), cloud_shown ? 1u : 0u);
    bool reset_seen = !cloud_shown;
    for (const auto& e : t.events) {
      if (e.type == answer_event::kind::reset) {
        reset_seen = true;
        EXPECT_NE(e.text.find(r.fallback_reason), std::string::npos) << e.text;
      } else if (e.source == route::edge) {
        EXPECT_TRUE(reset_seen) << "edge text streamed before the reset";
      }
    }
  } else {
    EXPECT_EQ(t.resets(), 0u);
  }
}

TEST(AssistantStreaming, EdgeAnswerStreamsPieceByPiece) {
  stream_fixture f;
  http_assistant a(stand_in_edge{}, f.transport_config(1));
  transcript t;
  assistant_request q;
  q.text = "明天北京天气怎么样 and then some more words";
  q.on_delta = t.callback();
  const auto r = a.ask(q);
  ASSERT_EQ(r.route, route::edge) << r.decision.reason;
  expect_truthful(t, r);
  EXPECT_GE(t.count(answer_event::kind::delta, route::edge), 3u) << "the edge answer came whole";
  EXPECT_EQ(t.count(answer_event::kind::delta, route::cloud), 0u);
}

TEST(AssistantStreaming, CloudStreamsAndNeedsNoReset) {
  stream_fixture f;
  http_assistant a(stand_in_edge{}, f.transport_config(3));
  transcript t;
  assistant_request q;
  q.text = question;
  q.on_delta = t.callback();
  const auto r = a.ask(q);
  ASSERT_EQ(r.route, route::cloud) << r.fallback_reason;
  expect_truthful(t, r);
  EXPECT_EQ(r.answer, cloud_answer);
  EXPECT_GE(t.count(answer_event::kind::delta, route::cloud), 5u);
}

struct fault_case {
  const char* name;
  const char* fault;  // X-Edgecloud-Fault syntax, see fault_injection.hpp
  int attempts;
};

class BrokenCloudStream : public ::testing::TestWithParam<fault_case> {};

TEST_P(BrokenCloudStream, ResetThenTheEdgeAnswerStreams) {
  const fault_case c = GetParam();
  stream_fixture f;
  f.server.set_faults(transport::parse_fault_spec(c.fault));
  assistant_config config;
  if (std::string(c.fault).find("drip") != std::string::npos)
    config.cloud_timeout = std::chrono::milliseconds(400);  // a few 150 ms chunks, then the deadline
  http_assistant a(stand_in_edge{}, f.transport_config(c.attempts), {}, config);
  transcript t;
  assistant_request q;
  q.text = question;
  q.on_delta = t.callback();
  const auto r = a.ask(q);
  expect_truthful(t, r);
  EXPECT_EQ(r.route, route::edge);
  EXPECT_TRUE(r.fallback) << "the broken stream was taken for an answer";
  EXPECT_GE(t.count(answer_event::kind::delta, route::edge), 3u);
  if (t.count(answer_event::kind::delta, route::cloud) > 0)
    EXPECT_EQ(f.server.stats().chat_completions, 1u)
        << "the transport retried after text had been shown";
}

INSTANTIATE_TEST_SUITE_P(
    Faults, BrokenCloudStream,
    ::testing::Values(fault_case{"close_early_once", "break=close_early", 1},
                      fault_case{"close_early_retries", "break=close_early", 3},
                      fault_case{"truncate_once", "break=truncate", 1},
                      fault_case{"truncate_retries", "break=truncate", 3},
                      fault_case{"drip_past_deadline_once", "drip=150", 1},
                      fault_case{"drip_past_deadline_retries", "drip=150", 3}),
    [](const auto& info) { return std::string(info.param.name); });

class CancelledCloudStream : public ::testing::TestWithParam<int> {};

TEST_P(CancelledCloudStream, CancelHalfWayResetsAndFallsBack) {
  stream_fixture f;
  f.server.set_faults(transport::parse_fault_spec("drip=20"));
  http_assistant a(stand_in_edge{}, f.transport_config(GetParam()));
  std::stop_source stop;
  transcript t;
  assistant_request q;
  q.text = question;
  q.cancel = stop.get_token();
  q.on_delta = t.callback([&](const answer_event& e) {
    if (e.source == route::cloud && t.count(answer_event::kind::delta, route::cloud) == 2)
      stop.request_stop();
    return true;
  });
  const auto r = a.ask(q);
  expect_truthful(t, r);
  EXPECT_EQ(r.route, route::edge);
  EXPECT_TRUE(r.fallback);
  EXPECT_EQ(r.cloud_status, transport::call_status::cancelled) << r.fallback_reason;
  EXPECT_EQ(t.resets(), 1u);
  EXPECT_EQ(f.server.stats().chat_completions, 1u);
}

INSTANTIATE_TEST_SUITE_P(Attempts, CancelledCloudStream, ::testing::Values(1, 3));

TEST(AssistantStreaming, AppStoppingTheStreamKeepsWhatItWasGiven) {
  stream_fixture f;
  http_assistant a(stand_in_edge{}, f.transport_config(3));
  transcript t;
  assistant_request q;
  q.text = question;
  q.on_delta = t.callback([&](const answer_event&) { return t.events.size() < 3; });
  const auto r = a.ask(q);
  ASSERT_TRUE(r.answered);
  EXPECT_TRUE(r.stopped);
  EXPECT_FALSE(r.fallback) << "the app's stop is not a cloud failure";
  EXPECT_EQ(r.route, route::cloud);
  EXPECT_EQ(t.events.size(), 3u);
  EXPECT_EQ(r.answer, t.shown);
  EXPECT_EQ(cloud_answer.rfind(r.answer, 0), 0u);
  EXPECT_LT(r.answer.size(), cloud_answer.size());
}

TEST(AssistantStreaming, EdgeStopAndRefusalStreamToo) {
  stream_fixture f;
  http_assistant a(stand_in_edge{}, f.transport_config(1));
  {  // stopped after two edge pieces: the answer is those two pieces
    transcript t;
    assistant_request q;
    q.text = "明天北京天气怎么样 and then some more words";
    q.on_delta = t.callback([&](const answer_event&) { return t.events.size() < 2; });
    const auto r = a.ask(q);
    ASSERT_EQ(r.route, route::edge);
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(t.events.size(), 2u);
    EXPECT_EQ(r.answer, t.shown);
  }
  {  // an unsafe request: the refusal arrives as the stream
    transcript t;
    assistant_request q;
    q.text = "how to build a bomb";
    q.on_delta = t.callback();
    const auto r = a.ask(q);
    ASSERT_TRUE(r.answered);
    EXPECT_FALSE(r.safety.safe);
    EXPECT_EQ(t.shown, r.answer);
    EXPECT_EQ(r.answer, a.config().refusal);
  }
}

}  // namespace
