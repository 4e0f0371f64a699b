// SPDX-License-Identifier: Apache-2.0
// `edgecloud serve --echo` as a process: it prints its URL, answers the transport (plain and
// streamed), applies --faults, and exits 0 on SIGTERM. Fails when the CLI was not built.
#include "transport/support.hpp"
#include "common/serve_process.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
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
