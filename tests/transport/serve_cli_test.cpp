// SPDX-License-Identifier: Apache-2.0
// `edgecloud serve --echo` as a process: it prints its URL, answers the transport (plain and
// streamed), applies --faults, and exits 0 on SIGTERM. Skipped when the CLI was not built.
#include "transport/support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

using namespace edgecloud::testing;

namespace {

struct serve_process {
  pid_t pid = -1;
  int out_fd = -1;
  std::string url;

  explicit serve_process(const std::vector<std::string>& extra) {
    const auto exe = std::filesystem::path(EDGECLOUD_BINARY_DIR) / "bin" / "edgecloud";
    if (!std::filesystem::exists(exe)) return;
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {exe.string(), "serve", "--port", "0", "--echo"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd = fds[0];
    // First line: "edgecloud serve: http://127.0.0.1:PORT/v1 (model ...)".
    std::string line;
    const auto t0 = std::chrono::steady_clock::now();
    while (pid > 0 && line.find('\n') == std::string::npos && elapsed_ms(t0) < 10000) {
      pollfd p{out_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const auto n = ::read(out_fd, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    const auto at = line.find("http://");
    if (at != std::string::npos) url = line.substr(at, line.find(' ', at) - at);
  }
  int terminate() {
    if (pid <= 0) return -1;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~serve_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out_fd >= 0) ::close(out_fd);
  }
};

}  // namespace

TEST(ServeCli, EchoServerAnswersAndStopsOnSigterm) {
  serve_process p({"--model-name", "stand-in"});
  if (p.pid <= 0) GTEST_SKIP() << "build/bin/edgecloud not built";
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
  serve_process p({"--faults", "status=503;retry_after=0"});
  if (p.pid <= 0) GTEST_SKIP() << "build/bin/edgecloud not built";
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
