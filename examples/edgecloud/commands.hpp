// SPDX-License-Identifier: Apache-2.0
// Subcommand registry of the `edgecloud` CLI. Each cmd_*.cpp registers its subcommands with a
// static `command_registrar`, so areas of the CLI live in their own files and main.cpp never
// changes when a subcommand is added. The names and JSON outputs are a public interface.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace edgecloud::cli {

struct command {
  std::string summary;  // one line for `edgecloud --help`
  std::function<int(const std::vector<std::string>& args)> run;  // args exclude the name
};

inline std::map<std::string, command>& registry() {
  static std::map<std::string, command> commands;
  return commands;
}

struct help_requested;
// The usage text of `name` (help.cpp), followed by any option in `accepted` the text does not
// mention; nullptr: the text alone.
std::string usage(const std::string& name, const help_requested* accepted);

struct command_registrar {
  command_registrar(std::string name, std::string summary,
                    std::function<int(const std::vector<std::string>&)> run) {
    registry().emplace(std::move(name), command{std::move(summary), std::move(run)});
  }
};

}  // namespace edgecloud::cli
