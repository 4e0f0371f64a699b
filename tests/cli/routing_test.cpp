// SPDX-License-Identifier: Apache-2.0
// `edgecloud route`, `eval` and `calibrate` end to end through the CLI binary: route against a
// real OpenAI-compatible server on loopback (started in this test), the JSON shape the
// acceptance checks read, a failing cloud ending in a fallback, and eval/calibrate on a small
// labeled file whose metrics were computed by hand (see tests/routing/evaluation_test.cpp).
// Skipped when the CLI is not built (EDGECLOUD_BUILD_EXAMPLES=OFF).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <edgecloud/transport.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace edgecloud;

#include "common/cli.hpp"

namespace {

fs::path cli() { return edgecloud::testing::built_program("edgecloud"); }

std::pair<int, std::string> run(const std::string& cmd) {
  return edgecloud::testing::run_command(cmd, edgecloud::testing::stderr_mode::discard);
}

class CliRouting : public ::testing::Test {
 protected:
  void SetUp() override {
    EDGECLOUD_REQUIRE_PROGRAM(exe, "edgecloud");
    dir_ = fs::temp_directory_path() / ("edgecloud_cli_routing_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(CliRouting, RouteJsonAgainstARealServerIncludingFallback) {
  transport::openai_server server(transport::openai_server_config{}, transport::echo_backend{});
  server.start();
  std::string base =
      cli().string() + " route --cloud-url " + server.base_url() + " --timeout-ms 5000 --json ";

  auto [rc, out] = run(base + "'explain the history of tea'");
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["route"], "cloud");
  EXPECT_EQ(j["fallback"], false);
  EXPECT_EQ(j["answer"], "echo: explain the history of tea");
  EXPECT_TRUE(j["reason"].is_string());
  EXPECT_TRUE(j["latency_ms"].is_number());

  auto [rc2, out2] = run(base + "--force-edge 'explain the history of tea'");
  ASSERT_EQ(rc2, 0) << out2;
  EXPECT_EQ(nlohmann::json::parse(out2)["route"], "edge");

  auto [rc3, out3] = run(base + "'明天北京天气怎么样'");
  ASSERT_EQ(rc3, 0) << out3;
  EXPECT_EQ(nlohmann::json::parse(out3)["route"], "edge");

  server.fail_next(100, 503);
  auto [rc4, out4] = run(base + "'explain the history of tea'");
  ASSERT_EQ(rc4, 0) << out4;
  auto f = nlohmann::json::parse(out4);
  EXPECT_EQ(f["route"], "edge");
  EXPECT_EQ(f["fallback"], true);
  EXPECT_NE(f["reason"].get<std::string>().find("503"), std::string::npos) << f["reason"];
  EXPECT_FALSE(f["answer"].get<std::string>().empty());

  auto [rc5, out5] = run(base + "--force-edge --force-cloud x");
  EXPECT_EQ(rc5, 2);
}

TEST_F(CliRouting, RouteJsonlReadsTextLines) {
  transport::openai_server server(transport::openai_server_config{}, transport::echo_backend{});
  server.start();
  fs::path in = dir_ / "in.jsonl";
  std::ofstream(in) << R"({"text": "打开空调"})"
                    << "\n"
                    << R"({"text": "what is entropy"})"
                    << "\n";
  auto [rc, out] =
      run(cli().string() + " route --cloud-url " + server.base_url() + " --jsonl < " + in.string());
  ASSERT_EQ(rc, 0) << out;
  std::istringstream lines(out);
  std::string a, b;
  std::getline(lines, a);
  std::getline(lines, b);
  EXPECT_EQ(nlohmann::json::parse(a)["route"], "edge");
  EXPECT_EQ(nlohmann::json::parse(b)["route"], "cloud");
}

TEST_F(CliRouting, EvalAndCalibrateOnHandComputedData) {
  // conf 0.9 0.3 0.3 0.6 0.1; edge right 1 0 1 0 0; cloud right 1 1 0 1 1 → APGR 0.6, CPT50 0.2.
  fs::path data = dir_ / "labeled.jsonl";
  {
    std::ofstream f(data);
    const double conf[] = {0.9, 0.3, 0.3, 0.6, 0.1};
    const bool edge[] = {true, false, true, false, false},
               cloud[] = {true, true, false, true, true};
    for (int i = 0; i < 5; ++i)
      f << nlohmann::json{{"query", "q" + std::to_string(i)},
                          {"task", "intent"},
                          {"gold", "a"},
                          {"edge_prediction", edge[i] ? "a" : "b"},
                          {"edge_confidence", conf[i]},
                          {"cloud_correct", cloud[i]},
                          {"edge_latency_ms", 10},
                          {"cloud_latency_ms", 100}}
               .dump()
        << "\n";
  }
  fs::path config = dir_ / "routing.json";
  std::ofstream(config) << R"({"thresholds": {"intent": 0.5}})";
  auto [rc, out] =
      run(cli().string() + " eval --json --data " + data.string() + " --config " + config.string());
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_NEAR(j["apgr"].get<double>(), 0.6, 1e-9);
  EXPECT_NEAR(j["cpt50_cloud_fraction"].get<double>(), 0.2, 1e-9);
  EXPECT_NEAR(j["on_device_rate"].get<double>(), 0.4, 1e-9);

  fs::path calibrated = dir_ / "calibrated.json";
  auto [rc2, out2] = run(cli().string() + " calibrate --json --target-cloud-rate 0.5 --data " +
                         data.string() + " --out " + calibrated.string());
  ASSERT_EQ(rc2, 0) << out2;
  auto c = nlohmann::json::parse(out2);
  EXPECT_NEAR(c["tasks"]["intent"]["threshold"].get<double>(), 0.3, 1e-12);
  EXPECT_TRUE(c["temperatures"]["intent"]["temperature"].is_number());
  auto written = nlohmann::json::parse(std::ifstream(calibrated));
  EXPECT_NEAR(written["thresholds"]["intent"].get<double>(), 0.3, 1e-12);

  auto [rc3, out3] = run(cli().string() + " calibrate --data " + data.string());
  EXPECT_EQ(rc3, 2) << "a target is required";
  std::ofstream(dir_ / "bad.jsonl") << "{\"edge_confidence\": \"high\"}\n";
  auto [rc4, out4] = run(cli().string() + " eval --data " + (dir_ / "bad.jsonl").string());
  EXPECT_EQ(rc4, 2);
}

}  // namespace
