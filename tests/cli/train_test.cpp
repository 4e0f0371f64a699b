// SPDX-License-Identifier: Apache-2.0
// scripts/train-edge-model --smoke end to end (CI's smoke training): a few intents, a tiny
// Qwen3 trained in torch, exported in Hugging Face / PEFT layout, converted by the CLI (the
// script itself fails when the converted F32 model's logits differ from torch's), calibrated on
// val; then `edgecloud eval --records` on the result, whose figures are recomputed here from
// the records. Skipped when the CLI is not built or no python3 with torch is installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/cli.hpp"

namespace fs = std::filesystem;

namespace {

bool has_torch() {
  for (const char* py : {"/usr/bin/python3", "python3"})
    if (edgecloud::testing::run_command(std::string(py) + " -c 'import torch, numpy' >/dev/null 2>&1")
            .first == 0)
      return true;
  return false;
}

std::string join(const nlohmann::json& labels) {
  std::string s;
  for (const auto& l : labels) s += (s.empty() ? "" : ",") + l.get<std::string>();
  return s;
}

TEST(TrainEdgeModel, SmokeTrainingConvertsCalibratesAndEvaluates) {
  const fs::path cli = edgecloud::testing::built_program("edgecloud");
  ASSERT_TRUE(fs::exists(cli)) << cli << " is not built";
  if (!has_torch()) GTEST_SKIP() << "no python3 with torch (apt-get install python3-torch)";
  const fs::path out = fs::temp_directory_path() / ("edgecloud_train_" + std::to_string(getpid()));
  fs::remove_all(out);
  const fs::path script = fs::path(EDGECLOUD_SOURCE_DIR) / "scripts" / "train-edge-model";
  auto [rc, log] = edgecloud::testing::run_command(script.string() + " " + out.string() +
                                                   " --smoke --threads 1 --edgecloud " + cli.string());
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("logits check"), std::string::npos) << log;
  EXPECT_NE(log.find("intent epoch 1/"), std::string::npos);

  // The manifest, exactly as the issue gives it.
  const auto m = nlohmann::json::parse(std::ifstream(out / "manifest.json"));
  EXPECT_EQ(m["model"], "edge-q8_0.gguf");
  ASSERT_EQ(m["tasks"].size(), 2u);
  const auto& intent = m["tasks"]["intent"];
  const auto& domain = m["tasks"]["domain"];
  EXPECT_TRUE(intent["lora"].is_null());
  EXPECT_EQ(intent["config"], "routing-intent.json");
  EXPECT_EQ(domain["lora"], "domain.lora.gguf");
  EXPECT_EQ(domain["config"], "routing-domain.json");
  EXPECT_EQ(intent["labels"].back(), "oos");
  EXPECT_EQ(domain["labels"].back(), "oos");
  for (const char* f : {"edge-q8_0.gguf", "domain.lora.gguf", "routing-intent.json",
                        "routing-domain.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto cfg = nlohmann::json::parse(std::ifstream(out / "routing-intent.json"));
  EXPECT_EQ(cfg["cloud_labels"], nlohmann::json::array({"oos"}));
  EXPECT_TRUE(cfg["task"]["prompt"]["user"].get<std::string>().find("{text}") != std::string::npos);

  // eval with records: the summary's figures from the records themselves.
  auto [erc, eout] = edgecloud::testing::run_command(
      cli.string() + " eval --model " + (out / "edge-q8_0.gguf").string() + " --data " +
          (out / "work" / "val-intent.jsonl").string() + " --labels " + join(intent["labels"]) +
          " --config " + (out / "routing-intent.json").string() +
          " --json --records --threads 1 --context 512",
      edgecloud::testing::stderr_mode::discard);
  ASSERT_EQ(erc, 0) << eout;
  std::istringstream lines(eout);
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_GT(rows.size(), 10u);
  const auto rep = rows.back();
  rows.pop_back();
  size_t edge = 0, edge_right = 0, oos = 0, oos_cloud = 0, in_scope = 0, in_scope_right = 0;
  for (const auto& r : rows) {
    const bool right = r["label"] == r["predicted"];
    const bool on_edge = r["route"] == "edge";
    EXPECT_TRUE(!on_edge || r["predicted"] != "oos");  // oos always goes to the cloud
    edge += on_edge;
    edge_right += on_edge && right;
    if (r["label"] == "oos") {
      ++oos;
      oos_cloud += !on_edge;
    } else {
      ++in_scope;
      in_scope_right += right;
    }
  }
  EXPECT_EQ(rep["requests"].get<size_t>(), rows.size());
  EXPECT_NEAR(rep["on_device_rate"].get<double>(), double(edge) / rows.size(), 1e-12);
  if (edge)
    EXPECT_NEAR(rep["on_device_accuracy"].get<double>(), double(edge_right) / edge, 1e-12);
  ASSERT_GT(oos, 0u);
  EXPECT_NEAR(rep["oos_to_cloud"].get<double>(), double(oos_cloud) / oos, 1e-12);
  EXPECT_NEAR(rep["in_scope_accuracy"].get<double>(), double(in_scope_right) / in_scope, 1e-12);
  EXPECT_TRUE(rep["latency_ms"]["p50"].is_number());
  fs::remove_all(out);
}

}  // namespace
