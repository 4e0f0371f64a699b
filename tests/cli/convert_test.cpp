// SPDX-License-Identifier: Apache-2.0
// `edgecloud convert` and `edgecloud convert-lora` end to end: the CLI converts a random checkpoint
// with --report --json (per-tensor errors, logits against the F32 conversion run by the engine),
// converts an adapter, and exits 1 on bad input and 2 on bad usage. Skipped when the CLI is not
// built.
#include <gtest/gtest.h>
#include <unistd.h>

#include <edgecloud/model/gguf.hpp>
#include <edgecloud/testing/hf_checkpoint.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/cli.hpp"

namespace fs = std::filesystem;

namespace {

std::pair<int, std::string> run(
    const std::string& args,
    edgecloud::testing::stderr_mode m = edgecloud::testing::stderr_mode::merge) {
  return edgecloud::testing::run_command(
      edgecloud::testing::built_program("edgecloud").string() + " " + args, m);
}

}  // namespace

TEST(CliConvert, ConvertReportAndLora) {
  ASSERT_TRUE(fs::exists(edgecloud::testing::built_program("edgecloud"))) << "the CLI is not built";
  const fs::path d = fs::temp_directory_path() / ("ec_cli_convert_" + std::to_string(::getpid()));
  fs::remove_all(d);
  edgecloud::testing::hf_checkpoint_spec spec;
  spec.tied = false;
  spec.shards = 2;
  edgecloud::testing::write_hf_checkpoint(d / "ckpt", spec);

  auto [rc, out] = run("convert " + (d / "ckpt").string() + " --outtype q8_0 " +
                           (d / "q.gguf").string() + " --report --json --threads 1",
                       edgecloud::testing::stderr_mode::discard);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["architecture"], "qwen3");
  EXPECT_EQ(j["outtype"], "q8_0");
  EXPECT_EQ(j["tensors"], 2 + 1 + 2 * 11);
  ASSERT_EQ(j["report"]["tensors"].size(), 25u);
  for (const auto& t : j["report"]["tensors"])
    if (t["type"] == "Q8_0") EXPECT_LT(t["rel_rms"].get<double>(), 0.02) << t.dump();
  ASSERT_EQ(j["report"]["logits"].size(), 3u);
  for (const auto& l : j["report"]["logits"]) {
    EXPECT_GT(l["tokens"].get<int>(), 3) << l.dump();
    EXPECT_GT(l["max_abs"].get<double>(), 0.0) << l.dump();   // Q8_0 changes the logits...
    EXPECT_LT(l["rel_max"].get<double>(), 2e-2) << l.dump();  // ...by less than 2 % of the largest
  }
  EXPECT_FALSE(fs::exists(d / "q.gguf.f32-reference.gguf"));  // the reference is removed

  auto [rc_table, table] = run("convert " + (d / "ckpt").string() + " --outtype f16 " +
                               (d / "h.gguf").string() + " --report");
  ASSERT_EQ(rc_table, 0) << table;
  EXPECT_NE(table.find("blk.1.ffn_down.weight"), std::string::npos) << table;
  EXPECT_NE(table.find("top-1 same"), std::string::npos) << table;

  // Converted F32 base + adapter.
  ASSERT_EQ(
      run("convert " + (d / "ckpt").string() + " --outtype f32 " + (d / "f.gguf").string()).first,
      0);
  edgecloud::testing::write_peft_adapter(d / "adapter", spec, {});
  auto [rc_lora, lora] =
      run("convert-lora " + (d / "adapter").string() + " --base " + (d / "f.gguf").string() +
              " --outtype f16 " + (d / "lora.gguf").string() + " --json",
          edgecloud::testing::stderr_mode::discard);
  ASSERT_EQ(rc_lora, 0) << lora;
  const auto l = nlohmann::json::parse(lora);
  EXPECT_EQ(l["tensors"].size(), 14u);
  EXPECT_EQ(l["alpha"], 8.0);
  EXPECT_EQ(edgecloud::gguf::file::open(d / "lora.gguf").get_string("adapter.type"), "lora");

  // Exit codes: bad input 1 (with the file named), bad usage 2.
  {
    std::ofstream(d / "ckpt" / "config.json") << R"({"architectures": ["MistralForCausalLM"]})";
    auto [rc_bad, msg] =
        run("convert " + (d / "ckpt").string() + " --outtype f32 " + (d / "x.gguf").string());
    EXPECT_EQ(rc_bad, 1) << msg;
    EXPECT_NE(msg.find("config.json: architecture MistralForCausalLM is not supported"),
              std::string::npos)
        << msg;
  }
  EXPECT_EQ(
      run("convert " + (d / "ckpt").string() + " --outtype q4_0 " + (d / "x.gguf").string()).first,
      2);
  EXPECT_EQ(run("convert " + (d / "ckpt").string()).first, 2);
  EXPECT_EQ(run("convert-lora " + (d / "adapter").string() + " " + (d / "x.gguf").string()).first,
            2);
  EXPECT_FALSE(fs::exists(d / "x.gguf"));
  fs::remove_all(d);
}
