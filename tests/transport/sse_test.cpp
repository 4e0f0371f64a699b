// SPDX-License-Identifier: Apache-2.0
// SSE parser and stream accumulator against hand-derived expectations from the WHATWG event
// stream rules: every split of the input must give the same events as the whole input.
#include <edgecloud/transport/json.hpp>
#include <edgecloud/transport/sse.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace et = edgecloud::transport;

namespace {

struct collected {
  std::vector<et::sse_event> events;
  bool ok = true;
  bool partial = false;
};

collected parse_in_pieces(const std::string& input, const std::vector<std::size_t>& cuts,
                          std::size_t limit = 1 << 20) {
  et::sse_parser parser(limit);
  collected out;
  std::size_t from = 0;
  auto on_event = [&](const et::sse_event& e) {
    out.events.push_back(e);
    return true;
  };
  for (std::size_t cut : cuts) {
    out.ok = out.ok && parser.feed(std::string_view(input).substr(from, cut - from), on_event);
    from = cut;
  }
  out.ok = out.ok && parser.feed(std::string_view(input).substr(from), on_event);
  out.partial = parser.has_partial_event();
  return out;
}

void expect_same_at_every_split(const std::string& input, const std::vector<std::string>& data,
                                const std::vector<std::string>& types = {}) {
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 <= input.size(); cut2 += 3) {
      auto got = parse_in_pieces(input, {cut, cut2});
      ASSERT_TRUE(got.ok) << "cuts " << cut << "," << cut2;
      ASSERT_EQ(got.events.size(), data.size()) << "cuts " << cut << "," << cut2;
      for (std::size_t i = 0; i < data.size(); ++i) {
        EXPECT_EQ(got.events[i].data, data[i]) << "cuts " << cut << "," << cut2 << " event " << i;
        if (!types.empty()) EXPECT_EQ(got.events[i].event, types[i]);
      }
    }
  }
}

}  // namespace

TEST(SseParser, OpenAiStyleStreamAtEveryByteBoundary) {
  const std::string input =
      "data: {\"a\":1}\n\n"
      "data: {\"b\":\"x y\"}\n\n"
      "data: [DONE]\n\n";
  expect_same_at_every_split(input, {"{\"a\":1}", "{\"b\":\"x y\"}", "[DONE]"});
}

TEST(SseParser, CrLfAndBareCrLineEndings) {
  expect_same_at_every_split("data: one\r\n\r\ndata: two\r\rdata: three\n\r\n",
                             {"one", "two", "three"});
}

TEST(SseParser, CommentsEventNamesAndMultiLineData) {
  const std::string input =
      ": keep-alive ping\n"
      "event: error\n"
      "data: first line\n"
      "data:second line\n"
      "data:  two spaces keep one\n"
      "\n"
      ":another comment\n\n"
      "data: after\n\n";
  expect_same_at_every_split(input, {"first line\nsecond line\n two spaces keep one", "after"},
                             {"error", "message"});
}

TEST(SseParser, EventWithoutDataIsNotDispatchedAndIdPersists) {
  auto got = parse_in_pieces("event: x\nid: 7\n\ndata: d\n\nid: 8\ndata: e\n\n", {});
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[0].data, "d");
  EXPECT_EQ(got.events[0].event, "message");  // the `event: x` went with the empty event
  EXPECT_EQ(got.events[0].id, "7");
  EXPECT_EQ(got.events[1].id, "8");
}

TEST(SseParser, FieldWithoutColonAndUnknownFieldsAreHandled) {
  auto got = parse_in_pieces("data\n\nretry: 10\nfoo: bar\ndata: z\n\n", {});
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[0].data, "");  // "data" alone appends an empty line
  EXPECT_EQ(got.events[1].data, "z");
}

TEST(SseParser, ByteOrderMarkIsSkippedEvenWhenSplit) {
  expect_same_at_every_split("\xEF\xBB\xBF" "data: bom\n\n", {"bom"});
  // A lone first byte of a BOM followed by something else is kept as text.
  auto got = parse_in_pieces("\xEF" "data: x\n\n", {1});
  ASSERT_EQ(got.events.size(), 0u);  // the line is "\xEF" "data: x": an unknown field
}

TEST(SseParser, UnterminatedEventIsReportedAsPartial) {
  auto got = parse_in_pieces("data: complete\n\ndata: {\"trunc", {});
  EXPECT_EQ(got.events.size(), 1u);
  EXPECT_TRUE(got.partial);
  auto clean = parse_in_pieces("data: complete\n\n", {});
  EXPECT_FALSE(clean.partial);
}

TEST(SseParser, OversizedEventIsAnErrorNotUnboundedBuffering) {
  std::string big = "data: " + std::string(5000, 'x');
  auto got = parse_in_pieces(big, {100, 2000}, 1024);
  EXPECT_FALSE(got.ok);
  et::sse_parser p(1024);
  EXPECT_FALSE(p.feed(big, [](const et::sse_event&) { return true; }));
  EXPECT_NE(p.error().find("1024"), std::string::npos);
  // Also when the size is reached through many data lines.
  et::sse_parser q(1024);
  std::string many;
  for (int i = 0; i < 200; ++i) many += "data: 0123456789\n";
  EXPECT_FALSE(q.feed(many, [](const et::sse_event&) { return true; }));
}

TEST(SseParser, CallbackCanStopTheParser) {
  et::sse_parser p;
  int seen = 0;
  EXPECT_FALSE(p.feed("data: 1\n\ndata: 2\n\n", [&](const et::sse_event&) {
    ++seen;
    return false;
  }));
  EXPECT_EQ(seen, 1);
}

// ---- stream_accumulator --------------------------------------------------------------------

namespace {
struct acc_run {
  et::chat_response out;
  std::string error;
  std::string deltas;
};
acc_run accumulate(const std::vector<std::string>& chunks) {
  et::stream_accumulator acc;
  acc_run run;
  std::string content, reasoning;
  int touched = -1;
  for (const auto& c : chunks) {
    run.error = acc.apply(c, run.out, content, reasoning, touched);
    if (!run.error.empty()) break;
    run.deltas += content;
  }
  return run;
}
}  // namespace

TEST(StreamAccumulator, ContentDeltasFinishReasonAndUsage) {
  auto run = accumulate({
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
      R"({"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]})",
      R"({"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]})",
      R"({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
      R"({"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})",
  });
  ASSERT_EQ(run.error, "");
  EXPECT_EQ(run.out.content, "Hello");
  EXPECT_EQ(run.deltas, "Hello");
  EXPECT_EQ(run.out.finish_reason, "stop");
  EXPECT_EQ(run.out.usage.prompt_tokens, 5);
  EXPECT_EQ(run.out.usage.completion_tokens, 2);
  EXPECT_EQ(run.out.model, "m");
  EXPECT_EQ(run.out.id, "c1");
}

TEST(StreamAccumulator, InterleavedToolCallDeltasMergeByIndex) {
  auto run = accumulate({
      R"({"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})",
      R"({"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\""}}]}}]})",
      R"({"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})",
      R"({"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":\"UTC\"}"}}]}}]})",
      R"({"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})",
      R"({"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
  });
  ASSERT_EQ(run.error, "");
  ASSERT_EQ(run.out.tool_calls.size(), 2u);
  EXPECT_EQ(run.out.tool_calls[0], (et::tool_call{"call_a", "get_weather", R"({"city":"Paris"})"}));
  EXPECT_EQ(run.out.tool_calls[1], (et::tool_call{"call_b", "get_time", R"({"tz":"UTC"})"}));
  EXPECT_EQ(run.out.finish_reason, "tool_calls");
}

TEST(StreamAccumulator, ChunkOfAnotherCompletionIsAProtocolError) {
  auto run = accumulate({R"({"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]})",
                         R"({"id":"b","choices":[{"index":0,"delta":{"content":"y"}}]})"});
  EXPECT_NE(run.error.find("interleaved"), std::string::npos) << run.error;
}

TEST(StreamAccumulator, MalformedAndWronglyTypedChunksAreErrorsNotCrashes) {
  for (const char* bad : {"{\"choices\": [ {oops", "[1,2,3]", "\"text\"", "",
                          R"({"choices":"nope"})", R"({"choices":[5]})",
                          R"({"choices":[{"index":0,"delta":{"tool_calls":[7]}}]})",
                          R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":99999}]}}]})",
                          R"({"error":{"message":"overloaded"}})"}) {
    auto run = accumulate({bad});
    EXPECT_FALSE(run.error.empty()) << bad;
  }
  // Wrong types of optional fields are ignored, not fatal.
  auto run = accumulate({R"({"id":7,"choices":[{"index":0,"delta":{"content":5},"finish_reason":3}]})"});
  EXPECT_EQ(run.error, "");
  EXPECT_EQ(run.out.content, "");
}

TEST(StreamAccumulator, OtherChoicesThanTheFirstAreIgnored) {
  auto run = accumulate({R"({"id":"c","choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]})"});
  EXPECT_EQ(run.out.content, "A");
}
