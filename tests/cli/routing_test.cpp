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

namespace {
// eval --records and calibrate --target-edge-accuracy on the out-of-scope example of
// tests/routing/evaluation_test.cpp (OutOfScopeFiguresByHand), and a deployment config whose
// "task" section calibrate keeps while it rewrites the thresholds.
TEST_F(CliRouting, EvalRecordsOutOfScopeAndCalibrateKeepsTheTaskSection) {
  fs::path data = dir_ / "predicted.jsonl";
  {
    std::ofstream f(data);
    const char* rows[][3] = {{"oos", "oos", "0.99"}, {"oos", "a", "0.95"}, {"oos", "a", "0.5"},
                             {"a", "a", "0.95"},     {"b", "a", "0.92"},   {"a", "a", "0.3"}};
    int i = 0;
    for (const auto& r : rows)
      f << nlohmann::json{{"text", "q" + std::to_string(i++)},
                          {"label", r[0]},
                          {"predicted", r[1]},
                          {"confidence", std::stod(r[2])},
                          {"latency_ms", 10 * i}}
               .dump()
        << "\n";
  }
  fs::path config = dir_ / "routing-intent.json";
  std::ofstream(config) << R"({"thresholds": {"intent": 0.9}, "cloud_labels": ["oos"],
      "task": {"prompt": {"system": "Intent only.", "user": "Message:\n{text}"}, "head": "full"}})";
  auto [rc, out] = run(cli().string() + " eval --json --records --cloud-quality 1 --data " +
                       data.string() + " --config " + config.string());
  ASSERT_EQ(rc, 0) << out;
  std::istringstream lines(out);
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 7u);  // 6 records, then the report
  const std::vector<std::string> routes = {"cloud", "edge", "cloud", "edge", "edge", "cloud"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(rows[i]["route"], routes[i]) << i;
    EXPECT_EQ(rows[i]["text"], "q" + std::to_string(i));
    EXPECT_TRUE(rows[i].contains("label") && rows[i].contains("predicted") &&
                rows[i].contains("confidence"));
  }
  const auto& rep = rows.back();
  EXPECT_EQ(rep["requests"], 6);
  EXPECT_NEAR(rep["on_device_rate"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(rep["on_device_accuracy"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(rep["oos_to_cloud"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(rep["in_scope_accuracy"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_TRUE(rep["ece"].is_number());
  EXPECT_NEAR(rep["latency_ms"]["p50"].get<double>(), 35, 1e-9);  // 10..60
  EXPECT_TRUE(rep["apgr"].is_number());                           // the cloud is always right

  // The non-oos predictions by confidence: {.95 W, .95 R} .92 W .5 W .3 R; the accuracy of the
  // first k is 1/2, 1/3, 1/4, 2/5, so A = 0.5 keeps the .95 tie group: threshold 0.95.
  fs::path out_cfg = dir_ / "calibrated.json";
  auto [rc2, out2] = run(cli().string() + " calibrate --json --target-edge-accuracy 0.5 --data " +
                         data.string() + " --config " + config.string() + " --out " +
                         out_cfg.string());
  ASSERT_EQ(rc2, 0) << out2;
  EXPECT_NEAR(nlohmann::json::parse(out2)["tasks"]["intent"]["threshold"].get<double>(), 0.95,
              1e-12);
  const auto written = nlohmann::json::parse(std::ifstream(out_cfg));
  EXPECT_NEAR(written["thresholds"]["intent"].get<double>(), 0.95, 1e-12);
  EXPECT_EQ(written["cloud_labels"], nlohmann::json::array({"oos"}));
  EXPECT_EQ(written["task"]["prompt"]["system"], "Intent only.");
  EXPECT_EQ(written["task"]["head"], "full");

  // A typo in the task section is an error naming the file.
  std::ofstream(config) << R"({"task": {"promt": {}}})";
  auto [rc3, out3] = edgecloud::testing::run_command(cli().string() + " eval --json --data " +
                                                     data.string() + " --config " + config.string());
  EXPECT_NE(rc3, 0);
  EXPECT_NE(out3.find("routing-intent.json: task: unknown key \"promt\""), std::string::npos)
      << out3;
}
}  // namespace
