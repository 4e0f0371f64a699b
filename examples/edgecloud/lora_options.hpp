// SPDX-License-Identifier: Apache-2.0
// `--lora FILE[:SCALE]` (repeatable), shared by every subcommand that runs the model: parsing
// and loading in one place. SCALE defaults to 1.0 (llama.cpp's --lora; --lora-scaled FILE S
// there is FILE:S here). A path that itself contains ':' works when no valid number follows
// the last ':' -- or give the scale explicitly (a:b.gguf:1).
#pragma once

#include <cmath>
#include <cstdlib>
#include <edgecloud/error.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <string>
#include <vector>

#include "args.hpp"

namespace edgecloud::cli {

inline const std::string lora_option = "lora";

// --no-mmap (llama.cpp's flag): read the model and adapter files into memory instead of mapping
// them, so a file changed or removed afterwards cannot affect the run (model/mapped_file.hpp).
inline const std::string no_mmap_flag = "no-mmap";
inline file_access file_access_from(const args& a) {
  return a.flag(no_mmap_flag) ? file_access::read : file_access::map;
}

inline model::lora_file parse_lora_option(const std::string& text) {
  model::lora_file f;
  f.path = text;
  if (const auto colon = text.rfind(':'); colon != std::string::npos && colon + 1 < text.size()) {
    const std::string tail = text.substr(colon + 1);
    char* end = nullptr;
    const double v = std::strtod(tail.c_str(), &end);
    if (*end == '\0') {
      if (!std::isfinite(v) || std::fabs(v) > 1e4)
        throw config_error("--lora " + text + ": the scale must be a finite number (|s| <= 1e4)");
      f.path = text.substr(0, colon);
      f.scale = static_cast<float>(v);
    }
  }
  if (f.path.empty()) throw config_error("--lora needs a file name (--lora FILE[:SCALE])");
  return f;
}

inline std::vector<model::lora_file> lora_files(const args& a) {
  std::vector<model::lora_file> out;
  for (const std::string& v : a.all(lora_option)) out.push_back(parse_lora_option(v));
  return out;
}

// The --lora list loaded against `base` as an adapter set (empty without --lora).
inline model::lora_set lora_set_from(const args& a, const model::qwen3& base) {
  const auto files = lora_files(a);
  const auto adapters = model::load_lora_files(files, base, file_access_from(a));
  model::lora_set set;
  for (size_t i = 0; i < files.size(); ++i) set.push_back({adapters[i], files[i].scale});
  return set;
}

}  // namespace edgecloud::cli
