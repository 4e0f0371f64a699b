// SPDX-License-Identifier: Apache-2.0
// `edgecloud serve --echo` as a process: it prints its URL, answers the transport (plain and
// streamed), applies --faults, and exits 0 on SIGTERM; on the engine backend SIGHUP reloads the
// model from its path (a renamed-over file) and a bad file leaves the old one serving. Fails
// when the CLI was not built.
#include "transport/support.hpp"
#include "common/cli.hpp"
#include "common/serve_process.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

using namespace edgecloud::testing;

namespace {

// The stand-in (echo) server with extra serve options.
struct echo_serve : edgecloud::testing::serve_process {
  explicit echo_serve(const std::vector<std::string>& extra)
      : edgecloud::testing::serve_process(with_echo(extra)) {}
  static std::vector<std::string> with_echo(std::vector<std::string> extra) {
    extra.insert(extra.begin(), "--echo");
    return extra;
  }
};

}  // namespace

TEST(ServeCli, EchoServerAnswersAndStopsOnSigterm) {
  echo_serve p({"--model-name", "stand-in"});
  ASSERT_GT(p.pid, 0) << "build/bin/edgecloud was not built or could not be started";
  ASSERT_FALSE(p.url.empty()) << "serve did not print its URL";
  et::openai_transport t(quick_config(p.url));
  for (bool stream : {false, true}) {
    auto r = t.complete(user_request("from the cli test", stream));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.content, "echo: from the cli test");
  }
  EXPECT_EQ(p.terminate(), 0);
}

TEST(ServeCli, FaultsOptionInjectsErrors) {
  echo_serve p({"--faults", "status=503;retry_after=0"});
  ASSERT_GT(p.pid, 0) << "build/bin/edgecloud was not built or could not be started";
  ASSERT_FALSE(p.url.empty());
  auto cfg = quick_config(p.url);
  cfg.retry.max_attempts = 2;
  et::openai_transport t(cfg);
  auto r = t.complete(user_request("x"));
  EXPECT_EQ(r.status, et::call_status::http_error);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(p.terminate(), 0);
}

namespace {

// `edgecloud serve --model PATH` on the engine, stderr in the pipe (the SIGHUP reports).
struct engine_serve : edgecloud::testing::serve_process {
  explicit engine_serve(const std::filesystem::path& model)
      : edgecloud::testing::serve_process({"--model", model.string(), "--threads", "1", "--context",
                                           "256", "--max-tokens", "6"},
                                          std::chrono::seconds(60), /*merge_stderr=*/true) {}
};

std::string answer(const std::string& url) {
  auto cfg = quick_config(url);
  cfg.timeouts.first_byte = std::chrono::seconds(30);  // slow under the sanitizers
  cfg.timeouts.idle = std::chrono::seconds(30);
  cfg.timeouts.total = std::chrono::seconds(60);
  et::openai_transport t(cfg);
  auto r = t.complete(user_request("what is the weather like tomorrow"));
  EXPECT_TRUE(r.ok()) << r.error;
  // The prompt's length tells the two models' vocabularies apart, the text their weights.
  return r.content + " | prompt tokens " + std::to_string(r.usage.prompt_tokens);
}

// Delivers `from` at `to` the way docs/hot-update.md says: a temporary file renamed over it.
void deliver(const std::filesystem::path& from, const std::filesystem::path& to) {
  const auto tmp = to.string() + ".new";
  std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(tmp, to);
}

}  // namespace

TEST(ServeCli, SighupReloadsTheModelAndABadFileKeepsTheOldOne) {
  // B: other weights and the real Qwen3 vocabulary (data/qwen3-tokenizer), so it answers
  // otherwise, and with another prompt length, than A (the synthetic vocabulary).
  static const edgecloud::testing::cli_tiny_model a("hup-a", "--seed 11"),
      b("hup-b", "--seed 12 --tokenizer " EDGECLOUD_SOURCE_DIR "/data/qwen3-tokenizer/tokenizer.json");
  EDGECLOUD_REQUIRE_TINY_MODEL(model_a, a);
  EDGECLOUD_REQUIRE_TINY_MODEL(model_b, b);
  const auto served = std::filesystem::temp_directory_path() /
                      ("edgecloud-hup-served-" + std::to_string(::getpid()) + ".gguf");
  deliver(model_a, served);

  std::string from_b;  // the reference: a server started on B
  {
    engine_serve ref(model_b);
    ASSERT_FALSE(ref.url.empty()) << "serve printed: " << ref.first_line;
    from_b = answer(ref.url);
    EXPECT_EQ(ref.terminate(), 0);
  }

  engine_serve p(served);
  ASSERT_GT(p.pid, 0) << "build/bin/edgecloud was not built or could not be started";
  ASSERT_FALSE(p.url.empty()) << "serve printed: " << p.first_line;
  const std::string from_a = answer(p.url);
  ASSERT_NE(from_a, from_b) << "the two random models answer alike: the test could not see a swap";

  deliver(model_b, served);
  ::kill(p.pid, SIGHUP);
  ASSERT_TRUE(p.wait_for("SIGHUP: reloaded")) << p.seen;
  EXPECT_EQ(answer(p.url), from_b) << "after the reload the server must answer as model B does";

  {  // a file that does not parse: the reload fails, B keeps serving
    std::ofstream(served.string() + ".bad") << "not a gguf file";
    std::filesystem::rename(served.string() + ".bad", served);
  }
  ::kill(p.pid, SIGHUP);
  ASSERT_TRUE(p.wait_for("SIGHUP: reload failed")) << p.seen;
  EXPECT_NE(p.seen.find(served.string()), std::string::npos) << "the error names the file: " << p.seen;
  EXPECT_EQ(answer(p.url), from_b);
  EXPECT_EQ(p.terminate(), 0);
  std::filesystem::remove(served);
}
