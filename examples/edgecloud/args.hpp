// SPDX-License-Identifier: Apache-2.0
// Small argument parser shared by every subcommand: `--name value`, `--name=value`, boolean
// `--flag`, and positionals. Unknown or missing options are errors with a usable message.
// A `repeatable` option (e.g. --lora A --lora B) keeps every value in order: all(name); for the
// others the last one given wins.
#pragma once

#include <edgecloud/error.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace edgecloud::cli {

// A command line that does not parse (unknown option, missing or extra value, a number that is
// not one): main.cpp prints the message and the command's usage, exit status 2.
class usage_error : public config_error {
 public:
  using config_error::config_error;
};

// Thrown by the parser when `--help` or `-h` stands where an option could: main.cpp prints the
// command's usage (help.cpp) and exits 0. Carries the options the command accepts, so the usage
// printed can never omit one (help.cpp lists any its text does not mention).
struct help_requested {
  std::set<std::string> value_options, flags;
};

class args {
 public:
  // `value_options` take a value; `flags` do not. Anything else starting with `--` is an error.
  args(const std::vector<std::string>& argv, std::set<std::string> value_options,
       std::set<std::string> flags, const std::set<std::string>& repeatable = {}) {
    value_options.insert(repeatable.begin(), repeatable.end());
    // Help wins over everything else on the line, even an option the command does not know.
    for (const std::string& a : argv)
      if (a == "--help" || a == "-h") throw help_requested{value_options, flags};
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a.size() > 2 && a.rfind("--", 0) == 0) {
        std::string name = a.substr(2), value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
          value = name.substr(eq + 1);
          name = name.substr(0, eq);
          has_value = true;
        }
        if (value_options.count(name)) {
          if (!has_value) {
            if (i + 1 >= argv.size()) throw usage_error("option --" + name + " needs a value");
            value = argv[++i];
          }
          values_[name] = value;
          all_[name].push_back(value);
        } else if (flags.count(name)) {
          if (has_value) throw usage_error("option --" + name + " takes no value");
          flags_.insert(name);
        } else {
          throw usage_error("unknown option --" + name);
        }
      } else {
        positionals_.push_back(a);
      }
    }
  }

  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  std::string value_or(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
  }
  std::string required(const std::string& name) const {
    auto v = get(name);
    if (!v) throw usage_error("missing required option --" + name);
    return *v;
  }
  long long integer(const std::string& name, long long fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0') throw usage_error("option --" + name + ": not an integer: " + *v);
    return n;
  }
  double number(const std::string& name, double fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    char* end = nullptr;
    double d = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0') throw usage_error("option --" + name + ": not a number: " + *v);
    return d;
  }
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Every value of `name`, in command-line order (empty when not given).
  std::vector<std::string> all(const std::string& name) const {
    auto it = all_.find(name);
    return it == all_.end() ? std::vector<std::string>{} : it->second;
  }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_;
  std::set<std::string> flags_;
  std::vector<std::string> positionals_;
};

// Parses "1 2 3" or "1,2,3" into token ids; throws config_error on anything else.
inline std::vector<int> parse_token_list(const std::string& text) {
  std::vector<int> out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    char* end = nullptr;
    long v = std::strtol(cur.c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v > 0x7fffffff) throw config_error("not a token id: " + cur);
    out.push_back(static_cast<int>(v));
    cur.clear();
  };
  for (char c : text) {
    if (c == ' ' || c == ',' || c == '\t' || c == '\n') flush();
    else cur += c;
  }
  flush();
  return out;
}

}  // namespace edgecloud::cli
