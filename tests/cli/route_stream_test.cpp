// SPDX-License-Identifier: Apache-2.0
// `edgecloud route --stream --jsonl`: the events one JSON object a line, a reset before the
// fallback when the cloud stream breaks, the response last with "event":"done"; replaying the
// events (append deltas, clear on reset) gives the final answer. Against `edgecloud serve
// --backend echo` with injected faults, through the stand-in edge (no model needed).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/serve_process.hpp"

namespace {

using edgecloud::testing::built_program;
using edgecloud::testing::run_command;
using edgecloud::testing::serve_process;
using edgecloud::testing::stderr_mode;

struct replay {
  std::vector<nlohmann::json> events;
  std::string shown;
  size_t resets = 0, cloud_deltas = 0, edge_deltas = 0;
};

replay route_stream(const std::string& url, const std::string& query) {
  const std::string cmd = "printf '%s\\n' '" + nlohmann::json{{"text", query}}.dump() + "' | " +
                          built_program("edgecloud").string() + " route --cloud-url " + url +
                          " --stream --jsonl --timeout-ms 20000";
  const auto [status, out] = run_command(cmd, stderr_mode::discard);
  EXPECT_EQ(status, 0) << out;
  replay r;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j.is_discarded()) continue;
    r.events.push_back(j);
    const std::string ev = j.value("event", "");
    if (ev == "delta") {
      r.shown += j.at("text").get<std::string>();
      (j.at("source") == "cloud" ? r.cloud_deltas : r.edge_deltas)++;
    } else if (ev == "reset") {
      ++r.resets;
      r.shown.clear();
      EXPECT_FALSE(j.at("reason").get<std::string>().empty());
    }
  }
  return r;
}

const std::string question =
    "explain the history of tea from its origins in china through the silk road to the present";

TEST(RouteStream, CloudStreamIsEventsThenDone) {
  serve_process server({"--backend", "echo"});
  ASSERT_FALSE(server.url.empty()) << "edgecloud serve did not start: " << server.first_line;
  const replay r = route_stream(server.url, question);
  ASSERT_FALSE(r.events.empty());
  const auto& done = r.events.back();
  EXPECT_EQ(done.value("event", ""), "done");
  EXPECT_EQ(done.at("route"), "cloud");
  EXPECT_EQ(r.resets, 0u);
  EXPECT_GE(r.cloud_deltas, 5u);
  EXPECT_EQ(r.shown, done.at("answer").get<std::string>());
}

TEST(RouteStream, BrokenCloudStreamResetsThenTheEdgeStreams) {
  serve_process server({"--backend", "echo", "--faults", "break=close_early"});
  ASSERT_FALSE(server.url.empty()) << "edgecloud serve did not start: " << server.first_line;
  const replay r = route_stream(server.url, question);
  ASSERT_FALSE(r.events.empty());
  const auto& done = r.events.back();
  EXPECT_EQ(done.value("event", ""), "done");
  EXPECT_EQ(done.at("route"), "edge");
  EXPECT_TRUE(done.at("fallback").get<bool>());
  EXPECT_GE(r.cloud_deltas, 1u) << "close_early sends the first chunk";
  EXPECT_EQ(r.resets, 1u);
  EXPECT_GE(r.edge_deltas, 2u);
  EXPECT_EQ(r.shown, done.at("answer").get<std::string>());
}

}  // namespace
