// SPDX-License-Identifier: Apache-2.0
// `build/bin/edgecloud serve --port 0 ARGS...` as a child process for tests. The server prints
// "edgecloud serve: http://127.0.0.1:PORT/v1 (...)" first; `url` is read from that line (empty
// when the program is missing or did not start within `startup`). The destructor kills it.
// With `merge_stderr` the child's stderr goes into the same pipe, and wait_for() reads it.
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace edgecloud::testing {

struct serve_process {
  pid_t pid = -1;
  int out_fd = -1;
  std::string first_line, url;

  explicit serve_process(const std::vector<std::string>& serve_args,
                         std::chrono::seconds startup = std::chrono::seconds(10),
                         bool merge_stderr = false) {
    const auto exe = std::filesystem::path(EDGECLOUD_BINARY_DIR) / "bin" / "edgecloud";
    if (!std::filesystem::exists(exe)) return;
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    if (merge_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {exe.string(), "serve", "--port", "0"};
    args.insert(args.end(), serve_args.begin(), serve_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd = fds[0];
    const auto t0 = std::chrono::steady_clock::now();
    while (pid > 0 && first_line.find('\n') == std::string::npos &&
           std::chrono::steady_clock::now() - t0 < startup) {
      pollfd p{out_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const auto n = ::read(out_fd, buf, sizeof buf);
      if (n <= 0) break;
      first_line.append(buf, static_cast<size_t>(n));
    }
    seen = first_line;
    const auto at = first_line.find("http://");
    if (at != std::string::npos) url = first_line.substr(at, first_line.find(' ', at) - at);
  }
  // Reads the child's output until `needle` appears in what came after the previous wait_for
  // (or the first line); true when it did within `timeout`. `seen` keeps what was read.
  bool wait_for(const std::string& needle, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      const auto at = seen.find(needle, consumed);
      if (at != std::string::npos) {
        consumed = at + needle.size();
        return true;
      }
      if (out_fd < 0 || std::chrono::steady_clock::now() - t0 > timeout) return false;
      pollfd p{out_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      const auto n = ::read(out_fd, buf, sizeof buf);
      if (n <= 0) return false;
      seen.append(buf, static_cast<size_t>(n));
    }
  }
  std::string seen;     // output read by wait_for
  size_t consumed = 0;  // where the next wait_for starts looking in `seen`

  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;

  // SIGTERM, then the exit status (the server must stop cleanly on it).
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

}  // namespace edgecloud::testing
