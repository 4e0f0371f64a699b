// SPDX-License-Identifier: Apache-2.0
// Running the built programs (build/bin/...) from tests: their path, and a shell command's exit
// status and output. Tests that need a program skip when it was not built.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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
  if (err == stderr_mode::discard)
    full += " 2>/dev/null";
  else if (cmd.find("2>") == std::string::npos)
    full += " 2>&1";
  std::string out;
  FILE* p = popen(full.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The CLI that writes test models: EDGECLOUD_MODEL_WRITER when set (the ThreadSanitizer stage
// of .ci/run builds only the tests and borrows the Release build's CLI), else this build's.
inline std::filesystem::path model_writer() {
  const char* writer = std::getenv("EDGECLOUD_MODEL_WRITER");
  return writer && *writer ? std::filesystem::path(writer) : built_program("edgecloud");
}

// A tiny random-weight Q8_0 model written by `edgecloud make-model --shape tiny` with `args`
// (e.g. "--seed 7"), removed when this object is destroyed. path() is empty when the CLI is not
// built or fails: callers skip or fail as suits them. Keep one in a function-local static to
// write it once per test process.
class cli_tiny_model {
 public:
  explicit cli_tiny_model(const std::string& tag, const std::string& args = "") {
    const auto exe = model_writer();
    if (!std::filesystem::exists(exe)) return;
    const auto out = std::filesystem::temp_directory_path() /
                     ("edgecloud-" + tag + "-tiny-" + std::to_string(::getpid()) + ".gguf");
    const auto [status, output] = run_command(
        exe.string() + " make-model --shape tiny --dtype q8_0 " + args + " " + out.string());
    if (status == 0) path_ = out;
  }
  ~cli_tiny_model() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  cli_tiny_model(const cli_tiny_model&) = delete;
  cli_tiny_model& operator=(const cli_tiny_model&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace edgecloud::testing
