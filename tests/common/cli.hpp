// SPDX-License-Identifier: Apache-2.0
// Running the built programs (build/bin/...) from tests: their path, and a shell command's exit
// status and output. Tests that need a program skip when it was not built.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

namespace edgecloud::testing {

inline std::filesystem::path built_program(const std::string& name) {
  return std::filesystem::path(EDGECLOUD_BINARY_DIR) / "bin" / name;
}

// Where a command's stderr goes: into the captured output (unless the command redirects it
// itself), or away, for tests that parse stdout alone.
enum class stderr_mode { merge, discard };

// Runs `cmd` through the shell; returns (exit status, or -1 when killed; captured output).
inline std::pair<int, std::string> run_command(const std::string& cmd,
                                               stderr_mode err = stderr_mode::merge) {
  std::string full = cmd;
  if (err == stderr_mode::discard) full += " 2>/dev/null";
  else if (cmd.find("2>") == std::string::npos) full += " 2>&1";
  std::string out;
  FILE* p = popen(full.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace edgecloud::testing
