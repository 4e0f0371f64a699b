// SPDX-License-Identifier: Apache-2.0
// `edgecloud` — the SDK's command-line tool. Subcommands live in cmd_*.cpp beside this file.
#include <edgecloud/error.hpp>
#include <edgecloud/version.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {
void usage() {
  std::fprintf(stderr, "edgecloud %s — edge/cloud LLM SDK\nusage: edgecloud <command> [options]\n\n",
               edgecloud::version_string);
  for (const auto& [name, cmd] : edgecloud::cli::registry())
    std::fprintf(stderr, "  %-14s %s\n", name.c_str(), cmd.summary.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::printf("%s\n", edgecloud::version_string);
    return 0;
  }
  auto& reg = edgecloud::cli::registry();
  auto it = reg.find(argv[1]);
  if (it == reg.end()) {
    std::fprintf(stderr, "edgecloud: unknown command '%s'\n\n", argv[1]);
    usage();
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const edgecloud::config_error& e) {
    std::fprintf(stderr, "edgecloud %s: %s\n", argv[1], e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgecloud %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}
