// SPDX-License-Identifier: Apache-2.0
// Faults below HTTP, from a raw TCP server: a peer that accepts and says nothing, one that
// drips its response headers a byte at a time, one that answers garbage, one that hangs up,
// one that streams a valid SSE answer with CRLF, comments and odd splits. Each call must end
// with an explicit answer within its deadline: the tests assert which limit ended it (the
// status, the error, the attempts), never how long the machine took.
#include "transport/support.hpp"

#include <gtest/gtest.h>

using namespace edgecloud::testing;

namespace {

et::openai_transport_config raw_config(const raw_server& s) {
  auto cfg = quick_config(s.url());
  cfg.timeouts.total = 1000ms;
  cfg.retry.max_attempts = 2;
  return cfg;
}
}  // namespace

TEST(RawFaults, SilentPeerHitsTheFirstByteTimeoutThenTheDeadline) {
  raw_server s([&](int fd) {
    raw_server::read_request(fd);
    while (!s.stopping()) std::this_thread::sleep_for(10ms);
  });
  auto cfg = raw_config(s);
  cfg.timeouts.first_byte = 300ms;
  et::openai_transport t(cfg);
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::timeout) << r.error;
  // The first attempt ended on the 300 ms first-byte limit (so there was a second one); the
  // 1 s deadline ended the second.
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(s.accepted(), 2);
}

TEST(RawFaults, HeadersDrippedByteByByteCannotStretchTheDeadline) {
  raw_server s([&](int fd) {
    raw_server::read_request(fd);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " +
                             std::string(500, 'p') + "\r\n\r\n";
    for (char c : head) {
      if (s.stopping() || !raw_server::send_all(fd, std::string(1, c))) return;
      std::this_thread::sleep_for(20ms);
    }
  });
  auto cfg = raw_config(s);
  cfg.timeouts.first_byte = 5000ms;  // only the total deadline can end it
  cfg.timeouts.idle = 5000ms;
  et::openai_transport t(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::timeout) << r.error;
  // The deadline ended it: the headers take over 10 s, so a stretched deadline would end on the
  // 5 s first-byte limit ("no response headers") instead; and never before the deadline.
  EXPECT_NE(r.error.find("deadline"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("no response headers"), std::string::npos) << r.error;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_GE(elapsed_ms(t0), 990);
}

TEST(RawFaults, GarbageInsteadOfHttpIsAConnectionError) {
  raw_server s([](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all");
  });
  et::openai_transport t(raw_config(s));
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error) << r.error;
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(s.accepted(), 2);
}

TEST(RawFaults, HangUpBeforeAnsweringIsRetriedThenReported) {
  raw_server s([](int fd) { raw_server::read_request(fd); });
  et::openai_transport t(raw_config(s));
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error) << r.error;
  EXPECT_EQ(r.attempts, 2);
}

TEST(RawFaults, BodyShorterThanContentLengthIsAnEarlyClose) {
  raw_server s([](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"choices\":[");
  });
  et::openai_transport t(raw_config(s));
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::connection_error) << r.error;
  EXPECT_NE(r.error.find("closed while reading"), std::string::npos) << r.error;
}

TEST(RawFaults, HandWrittenSseWithCrLfCommentsAndSplitWritesIsUnderstood) {
  const std::string body =
      ": ping\r\n\r\n"
      "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n"
      "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"你好\"}}]}\r\n\r\n"
      "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\", world\"},"
      "\"finish_reason\":\"stop\"}]}\r\n\r\n"
      "data: [DONE]\r\n\r\n";
  raw_server s([&](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
    // Odd-sized writes split UTF-8 sequences, CRLF pairs and JSON tokens.
    for (std::size_t i = 0; i < body.size(); i += 7) {
      raw_server::send_all(fd, body.substr(i, 7));
      std::this_thread::sleep_for(1ms);
    }
  });
  et::openai_transport t(raw_config(s));
  std::string deltas;
  et::call_options opts;
  opts.on_delta = [&](const et::stream_delta& d) {
    deltas += d.content;
    return true;
  };
  auto r = t.complete(user_request("hi", true), opts);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "你好, world");
  EXPECT_EQ(deltas, r.content);
  EXPECT_EQ(r.finish_reason, "stop");
}

TEST(RawFaults, StreamThatNeverEndsAfterDoneIsStillAnAnswer) {
  // Some proxies keep the connection open after [DONE]; the answer must not wait for the close.
  raw_server s([&](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                             "data: {\"id\":\"y\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n"
                             "data: [DONE]\n\n");
    while (!s.stopping()) std::this_thread::sleep_for(10ms);
  });
  auto cfg = raw_config(s);
  cfg.timeouts.total = 5000ms;
  et::openai_transport t(cfg);
  // Waiting for the close would end on the 3 s idle limit (a timeout), never `ok`.
  auto r = t.complete(user_request("hi", true));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.content, "ok");
  EXPECT_EQ(r.attempts, 1);
}
