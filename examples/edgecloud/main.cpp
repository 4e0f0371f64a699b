// SPDX-License-Identifier: Apache-2.0
// `edgecloud` — the SDK's command-line tool. Subcommands live in cmd_*.cpp beside this file.
#include <edgecloud/error.hpp>
#include <edgecloud/model/mapped_file.hpp>
#include <edgecloud/version.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"

namespace {
void usage(std::FILE* out) {
  std::fprintf(out, "edgecloud %s — edge/cloud LLM SDK\nusage: edgecloud <command> [options]\n\n",
               edgecloud::version_string);
  for (const auto& [name, cmd] : edgecloud::cli::registry())
    std::fprintf(out, "  %-14s %s\n", name.c_str(), cmd.summary.c_str());
  std::fprintf(out, "\nedgecloud <command> --help for a command's options; edgecloud --version\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? stderr : stdout);
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
    usage(stderr);
    return 2;
  }
  // A model or adapter file truncated under its mapping: a clear error, not a silent SIGBUS death
  // (model/mapped_file.hpp; --no-mmap avoids the mapping altogether).
  edgecloud::model::guard_mapped_files();
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const edgecloud::cli::help_requested& h) {
    std::fputs(edgecloud::cli::usage(argv[1], &h).c_str(), stdout);
    return 0;
  } catch (const edgecloud::cli::usage_error& e) {
    std::fprintf(stderr, "edgecloud %s: %s\n\n%s", argv[1], e.what(),
                 edgecloud::cli::usage(argv[1], nullptr).c_str());
    return 2;
  } catch (const edgecloud::config_error& e) {
    std::fprintf(stderr, "edgecloud %s: %s\n(edgecloud %s --help for the usage)\n", argv[1],
                 e.what(), argv[1]);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgecloud %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}
