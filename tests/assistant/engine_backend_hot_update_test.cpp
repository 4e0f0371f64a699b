// SPDX-License-Identifier: Apache-2.0
// Hot update of engine_backend (what `edgecloud serve` runs): the model and an adapter are
// replaced while several threads keep sending requests. Every answer must be one that a backend
// configured with the old or the new file gives (never a half-swapped mix), no request fails,
// and failed verifications (wrong sha256, an adapter for another base, a truncated file) keep
// the current files. Runs under ThreadSanitizer in CI (.ci/run).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <edgecloud/assistant/engine_backend.hpp>
#include <edgecloud/model/sha256.hpp>
#include <edgecloud/testing/lora_gguf.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/fixtures.hpp"

namespace {

using namespace edgecloud;
namespace fs = std::filesystem;

transport::chat_request question() {
  transport::chat_request r;
  r.messages = {{.role = "user", .content = "What is the weather tomorrow?"}};
  r.max_tokens = 4;
  return r;
}

engine_backend backend_with(const std::string& model, std::vector<model::lora_file> lora) {
  return engine_backend::load(
      model, {.threads = 1, .context = 128, .default_max_tokens = 4, .lora = std::move(lora)});
}

TEST(HotUpdate, SwapsUnderLoadAndRefusesBadFiles) {
  EDGECLOUD_FIXTURE(model, "models/tiny-qwen3-fullvocab-q8_0.gguf");
  const fs::path dir = fs::temp_directory_path() / ("edgecloud_hot_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto base = model::qwen3::load(model);
  const std::string pa = (dir / "a.gguf").string(), pb = (dir / "b.gguf").string();
  edgecloud::testing::write_random_lora(pa, base.config(), {.rank = 8, .b_std = 0.3f, .seed = 1});
  edgecloud::testing::write_random_lora(pb, base.config(), {.rank = 8, .b_std = 0.3f, .seed = 2});
  const fs::path model_copy = dir / "model-copy.gguf";
  fs::copy_file(model, model_copy);

  const std::string ans_a = backend_with(model, {{pa, 1.0f}})(question(), {}).content;
  const std::string ans_b = backend_with(model, {{pb, 1.0f}})(question(), {}).content;
  ASSERT_NE(ans_a, ans_b) << "the two adapters must answer differently for the test to mean much";

  auto backend = backend_with(model, {{pa, 1.0f}});
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, failed{0}, unexpected{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t)
    clients.emplace_back([&] {
      while (!stop.load()) {
        try {
          const auto r = backend(question(), {});
          if (r.content != ans_a && r.content != ans_b) ++unexpected;
          ++answered;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });

  // An adapter for another architecture, a truncated copy, a wrong digest: all refused.
  auto other = base.config();
  other.architecture = "qwen2";
  const std::string bad_arch = (dir / "qwen2.gguf").string();
  edgecloud::testing::write_random_lora(bad_arch, other, {.rank = 8});
  const std::string cut = (dir / "cut.gguf").string();
  fs::copy_file(pb, cut);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  const std::string sha_b = model::sha256::of_file(pb);
  for (int round = 0; round < 4; ++round) {
    const bool to_b = round % 2 == 0;
    backend.replace_adapter(0, to_b ? pb : pa, to_b ? sha_b : "");
    EXPECT_THROW(backend.replace_adapter(0, bad_arch), model_error);
    EXPECT_THROW(backend.replace_adapter(0, cut), model_error);
    EXPECT_THROW(backend.replace_adapter(0, pa, std::string(64, '0')), model_error);
    EXPECT_THROW(backend.replace_adapter(1, pa), config_error);
    EXPECT_EQ(backend.lora_adapters()[0].path, to_b ? pb : pa) << "a refused update keeps it";
    // The model too: another file with the same weights (the adapters are reloaded for it).
    backend.replace_model(round % 2 ? fs::path(model) : model_copy,
                          round == 1 ? model::sha256::of_file(model) : "");
    EXPECT_THROW(backend.replace_model(dir / "missing.gguf"), model_error);
    EXPECT_THROW(backend.replace_model(model, "deadbeef"), model_error);
    const int seen = answered.load();
    while (answered.load() < seen + 2 && failed.load() == 0) std::this_thread::yield();
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GE(answered.load(), 12);
  // After the last round (to a): a fresh request answers as a.
  EXPECT_EQ(backend(question(), {}).content, ans_a);
  fs::remove_all(dir);
}

}  // namespace
