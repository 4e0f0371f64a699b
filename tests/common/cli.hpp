// SPDX-License-Identifier: Apache-2.0
// Running the built programs (build/bin/...) from tests: their path, and a shell command's exit
// status and output. A test that needs a program fails when it was not built (tests/CMakeLists.txt
// builds the programs before any test that includes this header), and a failed make-model is a
// failure with the CLI's own output: neither is ever a skip.
#pragma once

#include <gtest/gtest.h>
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
// built or fails, and error() then says why (the command and its output): callers fail with it
// (EDGECLOUD_REQUIRE_TINY_MODEL). Keep one in a function-local static to write it once per
// test process.
class cli_tiny_model {
 public:
  explicit cli_tiny_model(const std::string& tag, const std::string& args = "") {
    const auto exe = model_writer();
    if (!std::filesystem::exists(exe)) {
      error_ = "the model writer " + exe.string() +
               " does not exist (build the edgecloud_cli target, or set EDGECLOUD_MODEL_WRITER)";
      return;
    }
    const auto out = std::filesystem::temp_directory_path() /
                     ("edgecloud-" + tag + "-tiny-" + std::to_string(::getpid()) + ".gguf");
    const std::string cmd =
        exe.string() + " make-model --shape tiny --dtype q8_0 " + args + " " + out.string();
    const auto [status, output] = run_command(cmd);
    if (status == 0 && std::filesystem::exists(out))
      path_ = out;
    else
      error_ = cmd + " exited with " + std::to_string(status) + ": " + output;
  }
  ~cli_tiny_model() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  cli_tiny_model(const cli_tiny_model&) = delete;
  cli_tiny_model& operator=(const cli_tiny_model&) = delete;
  const std::filesystem::path& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path path_;
  std::string error_;
};

}  // namespace edgecloud::testing

// Binds `var` to build/bin/<name> or fails the test (never skips) when it was not built.
#define EDGECLOUD_REQUIRE_PROGRAM(var, name)                                              \
  const std::filesystem::path var = ::edgecloud::testing::built_program(name);            \
  if (!std::filesystem::exists(var))                                                      \
  FAIL() << var << " was not built (configure with EDGECLOUD_BUILD_EXAMPLES=ON: the tests " \
         << "that run it then build it first)"

// Binds `var` to the path of `model` (a cli_tiny_model) or fails with make-model's error.
#define EDGECLOUD_REQUIRE_TINY_MODEL(var, model)                               \
  const std::filesystem::path var = (model).path();                          \
  if (var.empty()) FAIL() << "could not write the tiny model: " << (model).error()
