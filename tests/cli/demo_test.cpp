// SPDX-License-Identifier: Apache-2.0
// The user-facing programs on a tiny random-weight model (written here by `edgecloud make-model
// --shape tiny`): examples/quickstart offline and against a cloud; `edgecloud serve --model` as
// a process (the engine backend), `edgecloud route --model --json/--jsonl` against it, and the
// main example (examples/assistant_demo) end to end. A binary missing from build/bin, or a
// failed make-model, fails the test that needs it.
#include <edgecloud/transport.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

extern char** environ;

namespace fs = std::filesystem;

#include "common/cli.hpp"
#include "common/serve_process.hpp"

namespace {

fs::path bin(const std::string& name) {
  return edgecloud::testing::built_program(name);
}

std::pair<int, std::string> run(const std::string& cmd) {
  return edgecloud::testing::run_command(cmd, edgecloud::testing::stderr_mode::merge);
}

const edgecloud::testing::cli_tiny_model& tiny() {
  static const edgecloud::testing::cli_tiny_model model("demo");
  return model;
}

// `edgecloud serve --model M` on the engine, small enough for the tiny model; up to 60 s to start.
struct serve_process : edgecloud::testing::serve_process {
  explicit serve_process(const fs::path& model)
      : edgecloud::testing::serve_process(
            {"--model", model.string(), "--threads", "1", "--context", "512", "--max-tokens", "8"},
            std::chrono::seconds(60)) {}
};

nlohmann::json parse_line(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << s;
  return j;
}

}  // namespace

TEST(Quickstart, AnswersOfflineOnTheDevice) {
  EDGECLOUD_REQUIRE_PROGRAM(quickstart, "quickstart");
  EDGECLOUD_REQUIRE_TINY_MODEL(model, tiny());
  const auto [rc, out] = run(bin("quickstart").string() + " " + model.string());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("route: edge"), std::string::npos) << out;
  EXPECT_NE(out.find("answer: "), std::string::npos) << out;
}

TEST(Quickstart, UnreachableCloudStillAnswers) {
  EDGECLOUD_REQUIRE_PROGRAM(quickstart, "quickstart");
  EDGECLOUD_REQUIRE_TINY_MODEL(model, tiny());
  // Port 9 (discard) on loopback refuses connections: a cloud decision falls back to the edge.
  const auto [rc, out] =
      run(bin("quickstart").string() + " " + model.string() + " http://127.0.0.1:9/v1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("route: edge"), std::string::npos) << out;
}

TEST(ServeAndRoute, EngineServerRouteJsonAndTheDemo) {
  EDGECLOUD_REQUIRE_PROGRAM(edgecloud, "edgecloud");
  EDGECLOUD_REQUIRE_TINY_MODEL(model, tiny());
  serve_process serve(model);
  ASSERT_GT(serve.pid, 0);
  ASSERT_FALSE(serve.url.empty()) << "serve printed: " << serve.first_line;
  EXPECT_NE(serve.first_line.find("engine backend"), std::string::npos) << serve.first_line;

  const std::string route = bin("edgecloud").string() + " route --model " + model.string() +
                            " --cloud-url " + serve.url +
                            " --threads 1 --context 512 --edge-max-tokens 6 --cloud-max-tokens 6 ";
  {
    const auto [rc, out] =
        run(route + "--json --force-cloud 'Explain why the sea is salty' 2>/dev/null");
    ASSERT_EQ(rc, 0) << out;
    const auto j = parse_line(out);
    EXPECT_EQ(j["route"], "cloud") << out;
    EXPECT_EQ(j["fallback"], false);
    EXPECT_TRUE(j["reason"].is_string());
    EXPECT_TRUE(j["answer"].is_string());
    EXPECT_TRUE(j["latency_ms"].is_number());
    EXPECT_EQ(j["rule"], "override.force_cloud");
  }
  {
    const auto [rc, out] = run(route + "--json --force-edge '把空调调到26度' 2>/dev/null");
    ASSERT_EQ(rc, 0) << out;
    const auto j = parse_line(out);
    EXPECT_EQ(j["route"], "edge") << out;
    EXPECT_EQ(j["fallback"], false);
  }
  {
    const auto [rc, out] =
        run("printf '%s\\n%s\\n' '{\"text\":\"hello\"}' '{\"text\":\"为什么天空是蓝色的\"}' | " +
            route + "--jsonl 2>/dev/null");
    ASSERT_EQ(rc, 0) << out;
    std::istringstream lines(out);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      const auto j = parse_line(line);
      EXPECT_TRUE(j["route"] == "edge" || j["route"] == "cloud") << line;
      EXPECT_TRUE(j["answered"].get<bool>()) << line;
      ++n;
    }
    EXPECT_EQ(n, 2);
  }

  {
    EDGECLOUD_REQUIRE_PROGRAM(assistant_demo, "assistant_demo");
    const auto [rc, out] =
        run("EDGECLOUD_DEMO_MAX_TOKENS=4 EDGECLOUD_DEMO_THREADS=1 " +
            bin("assistant_demo").string() + " " + model.string() + " " + serve.url);
    EXPECT_EQ(rc, 0) << out;
    // Device commands on the edge, knowledge in the cloud, a phone number redacted before
    // sending, a private request kept local, the 503 ending in a fallback, telemetry JSON.
    EXPECT_NE(out.find("task.confident"), std::string::npos) << out;
    EXPECT_NE(out.find("task.cloud_task"), std::string::npos) << out;
    EXPECT_NE(out.find("[PHONE]"), std::string::npos) << out;
    EXPECT_NE(out.find("privacy.never_send"), std::string::npos) << out;
    EXPECT_NE(out.find("cloud failed (http_error"), std::string::npos) << out;
    EXPECT_NE(out.find("\"requests\""), std::string::npos) << out;
  }
  EXPECT_EQ(serve.terminate(), 0);
}

TEST(EvalWithModel, TheEngineFillsEveryIntentPrediction) {
  EDGECLOUD_REQUIRE_PROGRAM(edgecloud, "edgecloud");
  EDGECLOUD_REQUIRE_TINY_MODEL(model, tiny());
  const auto data =
      fs::temp_directory_path() / ("edgecloud-eval-" + std::to_string(::getpid()) + ".jsonl");
  {
    std::FILE* f = std::fopen(data.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        R"({"query":"明天北京天气怎么样","task":"intent","gold":"weather","cloud_correct":true}
{"query":"play some jazz","task":"intent","gold":"music","cloud_correct":true}
{"query":"set an alarm for 7","task":"intent","gold":"alarm","cloud_correct":false}
)",
        f);
    std::fclose(f);
  }
  const auto [rc, out] =
      run(bin("edgecloud").string() + " eval --data " + data.string() + " --model " +
          model.string() + " --labels weather,music,alarm --threads 1 --json 2>/dev/null");
  std::error_code ec;
  fs::remove(data, ec);
  ASSERT_EQ(rc, 0) << out;
  const auto j = parse_line(out);
  EXPECT_EQ(j["records"], 3) << out;
  // Every record now carries the engine's prediction: accuracy is a multiple of 1/3 and the
  // latency percentiles come from the engine's timings (> 0), not from the file (absent = 0).
  const double acc = j["edge_accuracy"].get<double>();
  EXPECT_NEAR(acc * 3, std::round(acc * 3), 1e-9) << out;
  EXPECT_GT(j["latency_ms"]["p50"].get<double>(), 0.0) << out;
}
