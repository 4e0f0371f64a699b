// SPDX-License-Identifier: Apache-2.0
// Every subcommand answers --help / -h with its usage (exit 0, on stdout), and a command line
// that does not parse names the option and prints the usage (exit 2). The subcommand list comes
// from `edgecloud --help` itself, so a command added later is covered without editing this file.
#include <gtest/gtest.h>

#include <algorithm>
#include <edgecloud/version.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "common/cli.hpp"

namespace {

using edgecloud::testing::built_program;
using edgecloud::testing::run_command;
using edgecloud::testing::stderr_mode;

std::string cli() {
  const auto exe = built_program("edgecloud");
  EXPECT_TRUE(std::filesystem::exists(exe)) << exe << " is not built";
  return exe.string();
}

// The names `edgecloud --help` lists: lines "  NAME  summary" before the closing hint.
std::vector<std::string> listed_commands() {
  const auto [status, out] = run_command(cli() + " --help", stderr_mode::discard);
  EXPECT_EQ(status, 0) << out;
  std::vector<std::string> names;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  ", 0) != 0 || line.size() < 3 || line[2] == ' ') continue;
    names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

TEST(CliHelp, TopLevelListsTheCommandsAndTheVersion) {
  const auto names = listed_commands();
  for (const char* expected : {"classify", "route", "serve", "tokenize", "logits", "eval"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  const auto [status, out] = run_command(cli() + " --version", stderr_mode::discard);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, std::string(edgecloud::version_string) + "\n");
  const auto [none_status, none_out] = run_command(cli());
  EXPECT_EQ(none_status, 2) << "no command is a usage error";
  EXPECT_NE(none_out.find("usage: edgecloud <command>"), std::string::npos) << none_out;
}

TEST(CliHelp, EverySubcommandAnswersHelpWithItsUsage) {
  const auto names = listed_commands();
  ASSERT_GE(names.size(), 15u);
  for (const auto& name : names) {
    for (const char* flag : {"--help", "-h"}) {
      const auto [status, out] = run_command(cli() + " " + name + " " + flag, stderr_mode::discard);
      EXPECT_EQ(status, 0) << name << " " << flag << ": " << out;
      EXPECT_EQ(out.rfind("usage: edgecloud " + name, 0), 0u) << name << " " << flag << ": " << out;
    }
    // Help wins over everything else on the line, even options that would fail.
    const auto [status, out] =
        run_command(cli() + " " + name + " --model /no/such/file.gguf --help", stderr_mode::discard);
    EXPECT_EQ(status, 0) << name << ": " << out;
  }
}

TEST(CliHelp, UnknownOptionNamesItAndPrintsTheUsage) {
  for (const auto& name : listed_commands()) {
    const auto [status, out] = run_command(cli() + " " + name + " --no-such-option 2>&1 >/dev/null");
    EXPECT_EQ(status, 2) << name << ": " << out;
    EXPECT_NE(out.find("unknown option --no-such-option"), std::string::npos) << name << ": " << out;
    EXPECT_NE(out.find("usage: edgecloud " + name), std::string::npos) << name << ": " << out;
  }
}

TEST(CliHelp, HelpListsEveryOptionTheParserAccepts) {
  // classify's parser accepts --kv-type and --prompt-file (common task options); whatever the
  // hand-written text says, the printed usage must mention each of them.
  const auto [status, out] = run_command(cli() + " classify --help", stderr_mode::discard);
  ASSERT_EQ(status, 0);
  for (const char* option : {"--labels", "--kv-type", "--prompt-file", "--json", "--jsonl",
                             "--threads", "--head", "--bench"})
    EXPECT_NE(out.find(option), std::string::npos) << option << " missing from:\n" << out;
}

TEST(CliHelp, MissingValueIsAUsageError) {
  const auto [status, out] = run_command(cli() + " classify --labels 2>&1 >/dev/null");
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("option --labels needs a value"), std::string::npos) << out;
  EXPECT_NE(out.find("usage: edgecloud classify"), std::string::npos) << out;
}

}  // namespace
