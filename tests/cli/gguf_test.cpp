// SPDX-License-Identifier: Apache-2.0
// `edgecloud make-model` and `edgecloud inspect` end to end: the CLI binary writes a tiny model
// with the real Qwen3 tokenizer, `inspect --json` reports it, and gguf::file reads back exactly
// the tokenizer in tokenizer.json. Skipped when the CLI is not built
// (EDGECLOUD_BUILD_EXAMPLES=OFF).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/text/vocab.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/cli.hpp"
#include "common/fixtures.hpp"

namespace fs = std::filesystem;
namespace gguf = edgecloud::gguf;

namespace {

fs::path cli() { return edgecloud::testing::built_program("edgecloud"); }

std::pair<int, std::string> run(const std::string& cmd) {
  return edgecloud::testing::run_command(cmd, edgecloud::testing::stderr_mode::merge);
}

class CliGguf : public ::testing::Test {
 protected:
  void SetUp() override {
    EDGECLOUD_REQUIRE_PROGRAM(exe, "edgecloud");
    dir_ = fs::temp_directory_path() / ("edgecloud_cli_gguf_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

}  // namespace

TEST_F(CliGguf, MakeTinyModelWithRealTokenizerThenInspect) {
  EDGECLOUD_FIXTURE(tokenizer, "tokenizer/tokenizer.json");
  const fs::path out = dir_ / "tiny.gguf";
  auto [rc, text] =
      run(cli().string() + " make-model --shape tiny --dtype f16 --seed 3 --tokenizer " +
          tokenizer + " " + out.string());
  ASSERT_EQ(rc, 0) << text;
  auto [rc2, js] = run(cli().string() + " inspect --json " + out.string());
  ASSERT_EQ(rc2, 0) << js;
  auto j = nlohmann::json::parse(js);
  EXPECT_EQ(j["architecture"], "qwen3");
  EXPECT_EQ(j["hidden"], 64);
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["heads"], 4);
  EXPECT_EQ(j["kv_heads"], 2);
  EXPECT_EQ(j["head_dim"], 16);
  EXPECT_EQ(j["ffn"], 128);
  EXPECT_EQ(j["vocab"], 151936);
  EXPECT_EQ(j["rope_base"], 1e6);
  EXPECT_EQ(j["rms_eps"], 1e-6);
  EXPECT_EQ(j["tied_output"], true);
  EXPECT_EQ(j["tensor_types"]["F16"]["count"], 15);
  EXPECT_EQ(j["tensor_types"]["F32"]["count"], 9);
  EXPECT_EQ(j["parameters"], 151936 * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128) +
                                 64 + 2 * (2 * 64 + 2 * 16));
  EXPECT_EQ(j["tokenizer"]["merges"], 151387);
  EXPECT_EQ(j["tokenizer"]["eos"], "<|im_end|>");
  EXPECT_EQ(j["tokenizer"]["has_chat_template"], true);

  // The GGUF tokenizer section is tokenizer.json's, padded to the embedding rows.
  auto vocab = edgecloud::text::read_hf_tokenizer(tokenizer);
  auto f = gguf::file::open(out);
  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 151936u);
  for (size_t i = 0; i < vocab.tokens.size(); ++i) ASSERT_EQ(tokens[i], vocab.tokens[i]) << i;
  EXPECT_EQ(tokens[151669], "[PAD151669]");
  auto merges = f.get_string_array("tokenizer.ggml.merges");
  ASSERT_EQ(merges.size(), vocab.merges.size());
  EXPECT_EQ(merges[0], vocab.merges[0]);
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type")[151644], 3);  // <|im_start|> control
  EXPECT_EQ(f.get_string("tokenizer.chat_template"), vocab.chat_template);

  // Human-readable output names the shape.
  auto [rc3, human] = run(cli().string() + " inspect " + out.string());
  ASSERT_EQ(rc3, 0);
  EXPECT_NE(human.find("hidden 64, layers 2, heads 4 (kv 2), head dim 16, FFN 128"),
            std::string::npos)
      << human;
}

TEST_F(CliGguf, SyntheticTokenizerAndErrors) {
  const fs::path out = dir_ / "q8.gguf";
  auto [rc, text] = run(cli().string() + " make-model --shape tiny --dtype q8_0 " + out.string());
  ASSERT_EQ(rc, 0) << text;
  auto f = gguf::file::open(out);
  EXPECT_EQ(f.require_tensor("blk.1.ffn_down.weight", {128, 64}, {gguf::type_q8_0}).n_bytes,
            128u * 64 / 32 * 34);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")[151645], "<|im_end|>");
  EXPECT_EQ(run(cli().string() + " make-model --shape huge " + out.string()).first, 2);
  EXPECT_EQ(run(cli().string() + " make-model --dtype q4_0 " + out.string()).first, 2);
  // A broken file: inspect fails with the reader's message and status 1.
  const fs::path bad = dir_ / "bad.gguf";
  fs::copy_file(out, bad);
  fs::resize_file(bad, 1000);
  auto [rc2, msg] = run(cli().string() + " inspect " + bad.string());
  EXPECT_EQ(rc2, 1);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}
