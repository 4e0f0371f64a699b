// SPDX-License-Identifier: Apache-2.0
// `edgecloud logits`, `generate` and `bench` end to end on the fixture model: the JSON the CLI
// prints matches llama.cpp's logits and greedy ids, bench prints one JSON object a line.
// Skipped when the CLI is not built (EDGECLOUD_BUILD_EXAMPLES=OFF).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/cli.hpp"
#include "common/fixtures.hpp"

namespace fs = std::filesystem;

namespace {

fs::path cli() {
  return fs::path(EDGECLOUD_BINARY_DIR) / "bin" / "edgecloud";
}

// Runs a command, returns (exit status, stdout) with stderr dropped unless `merge_stderr`.
std::pair<int, std::string> run(const std::string& cmd, bool merge_stderr = false) {
  std::string out;
  FILE* p = popen((cmd + (merge_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string join(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

class CliEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    EDGECLOUD_REQUIRE_PROGRAM(exe, "edgecloud");
  }
};

TEST_F(CliEngine, LogitsAllPositionsMatchLlamaCpp) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-f32.gguf");
  EDGECLOUD_FIXTURE(ref_path, "models/tiny-qwen3-f32.ref.json");
  std::ifstream in(ref_path);
  const auto seq = nlohmann::json::parse(in).at("seqs").at(1);  // 5 tokens
  const auto tokens = seq.at("tokens").get<std::vector<int>>();
  const auto want = seq.at("logits").get<std::vector<std::vector<double>>>();

  auto [rc, out] = run(cli().string() + " logits --model " + model + " --tokens \"" + join(tokens) +
                       "\" --all --kv-type f32 --threads 2");
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("n_vocab").get<size_t>(), 1024u);
  const auto got = j.at("logits").get<std::vector<std::vector<double>>>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t p = 0; p < want.size(); ++p) {
    double scale = 0;
    for (double x : want[p]) scale = std::max(scale, std::fabs(x));
    ASSERT_EQ(got[p].size(), want[p].size());
    for (size_t i = 0; i < want[p].size(); ++i)
      ASSERT_NEAR(got[p][i], want[p][i], 1e-4 * scale) << "position " << p << " logit " << i;
  }

  // Without --all: the last position only.
  auto [rc2, last] = run(cli().string() + " logits --model " + model + " --tokens \"" +
                         join(tokens) + "\" --kv-type f32");
  ASSERT_EQ(rc2, 0);
  const auto l = nlohmann::json::parse(last).at("logits");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_NEAR(l[0][7].get<double>(), want.back()[7], 1e-4 * 100);
}

TEST_F(CliEngine, GenerateMatchesLlamaCppGreedy) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-f16.gguf");
  EDGECLOUD_FIXTURE(ref_path, "models/tiny-qwen3-f16.ref.json");
  std::ifstream in(ref_path);
  const auto seq = nlohmann::json::parse(in).at("seqs").at(2);  // 32 tokens
  const auto tokens = seq.at("tokens").get<std::vector<int>>();
  const auto greedy = seq.at("greedy").get<std::vector<int>>();
  auto [rc, out] = run(cli().string() + " generate --model " + model + " --tokens \"" +
                       join(tokens) + "\" --max-tokens " + std::to_string(greedy.size()));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out).at("tokens").get<std::vector<int>>(), greedy);

  // A stop token ends generation before it is emitted.
  auto [rc2, stopped] = run(cli().string() + " generate --model " + model + " --tokens \"" +
                            join(tokens) + "\" --max-tokens 4 --stop " + std::to_string(greedy[0]));
  ASSERT_EQ(rc2, 0);
  EXPECT_TRUE(nlohmann::json::parse(stopped).at("tokens").empty());
}

TEST_F(CliEngine, BenchPrintsJsonLines) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-q8_0.gguf");
  auto [rc, out] = run(cli().string() + " bench --model " + model +
                       " --prompt-tokens 4,8 --gen-tokens 4 --threads 2 --repetitions 2 --json");
  ASSERT_EQ(rc, 0) << out;
  std::istringstream lines(out);
  std::string line;
  std::vector<std::string> tests;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    const auto name = j.at("test").get<std::string>();
    tests.push_back(name);
    if (name == "load")
      EXPECT_GT(j.at("ms").get<double>(), 0);
    else if (name == "peak_rss")
      EXPECT_GT(j.at("mb").get<double>(), 0);
    else
      EXPECT_GT(j.at("tokens_per_s").get<double>(), 0) << name;
  }
  EXPECT_EQ(tests, (std::vector<std::string>{"pp4", "pp8", "tg4", "load", "peak_rss"}));
}

TEST_F(CliEngine, ErrorsAreUsable) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-f32.gguf");
  auto [rc, out] = run(cli().string() + " logits --model " + model + " --tokens \"1 99999\"", true);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("outside the vocabulary"), std::string::npos) << out;
  // --prompt encodes with the file's own tokenizer (the tasks helper added it): text in, text out.
  auto [rc2, out2] = run(cli().string() + " generate --model " + model + " --prompt hi --max-tokens 2", true);
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("\"text\":"), std::string::npos) << out2;
  auto [rc2b, out2b] = run(cli().string() + " generate --model " + model + " --prompt hi --tokens 1", true);
  EXPECT_EQ(rc2b, 2) << out2b;
  auto [rc3, out3] = run(cli().string() + " logits --model /nonexistent.gguf --tokens 1", true);
  EXPECT_EQ(rc3, 1);
  EXPECT_NE(out3.find("nonexistent"), std::string::npos) << out3;
}

}  // namespace
