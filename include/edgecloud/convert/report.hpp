// SPDX-License-Identifier: Apache-2.0
// What a conversion costs in accuracy (`edgecloud convert --report`):
//   per tensor   relative RMS error ||x - x̂|| / ||x|| and max |x - x̂| of the stored values
//                against the checkpoint's f32 values (hf_convert.hpp measures them while writing)
//   end to end   the engine (model::qwen3 + session, F32 KV cache) runs a few built-in prompts on
//                the converted file and on the F32 conversion of the same checkpoint; per prompt:
//                max |Δlogit| / max |logit_f32| over every position, RMS Δlogit, and the share of
//                positions whose arg-max token agrees.
// Rendered as a fmt table or as JSON.
//
// Ownership: plain value types; compare_logits maps both files only while it runs.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <edgecloud/convert/hf_convert.hpp>
#include <edgecloud/generate/tokenizer_loader.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edgecloud::convert {

struct logits_difference {
  std::string prompt;
  size_t tokens = 0;
  double max_abs = 0, max_ref = 0;  // max |Δ|, max |logit| of the F32 reference
  double rel_max = 0;               // max_abs / max_ref
  double rms = 0;
  double top1_agreement = 0;  // share of positions with the same arg-max
};

inline const std::vector<std::string>& report_prompts() {
  static const std::vector<std::string> prompts = {
      "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
      "The quick brown fox jumps over the lazy dog. 1, 2, 3, 4, 5,",
      "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
  };
  return prompts;
}

// Runs report_prompts() through `reference` (an F32 conversion) and `candidate`.
inline std::vector<logits_difference> compare_logits(const std::filesystem::path& reference,
                                                     const std::filesystem::path& candidate,
                                                     size_t threads = 0) {
  const auto ref_model = model::qwen3::load(reference);
  const auto cand_model = model::qwen3::load(candidate);
  const text::tokenizer tok = generate::load_tokenizer(cand_model.file());
  std::vector<logits_difference> out;
  for (const std::string& prompt : report_prompts()) {
    std::vector<int32_t> ids = tok.encode(prompt, text::encode_mode::trusted);
    for (int32_t& id : ids)  // a small test vocabulary may lack ids the model does not have
      if (static_cast<size_t>(id) >= cand_model.config().n_vocab) id = 0;
    model::session_config sc;
    sc.context = ids.size() + 8;
    sc.kv_type = kernels::dtype::f32;
    sc.threads = threads;
    sc.logits_rows = ids.size();
    model::session a(ref_model, sc), b(cand_model, sc);
    a.prefill(ids, model::logits_mode::all);
    b.prefill(ids, model::logits_mode::all);
    logits_difference d;
    d.prompt = prompt;
    d.tokens = ids.size();
    double se = 0;
    size_t agree = 0, n = 0;
    for (size_t pos = 0; pos < ids.size(); ++pos) {
      const auto la = a.logits(pos), lb = b.logits(pos);
      for (size_t v = 0; v < la.size(); ++v) {
        const double diff = double(la[v]) - double(lb[v]);
        d.max_abs = std::max(d.max_abs, std::fabs(diff));
        d.max_ref = std::max(d.max_ref, std::fabs(double(la[v])));
        se += diff * diff;
        ++n;
      }
      agree += std::max_element(la.begin(), la.end()) - la.begin() ==
               std::max_element(lb.begin(), lb.end()) - lb.begin();
    }
    d.rms = n ? std::sqrt(se / static_cast<double>(n)) : 0;
    d.rel_max = d.max_ref > 0 ? d.max_abs / d.max_ref : 0;
    d.top1_agreement =
        ids.empty() ? 1.0 : static_cast<double>(agree) / static_cast<double>(ids.size());
    out.push_back(std::move(d));
  }
  return out;
}

inline nlohmann::json report_json(const std::vector<tensor_error>& tensors,
                                  const std::vector<logits_difference>& logits) {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& e : tensors)
    t.push_back({{"name", e.name},
                 {"type", e.type},
                 {"dims", e.dims},
                 {"rel_rms", e.rel_rms},
                 {"max_abs", e.max_abs}});
  nlohmann::json l = nlohmann::json::array();
  for (const auto& d : logits)
    l.push_back({{"prompt", d.prompt},
                 {"tokens", d.tokens},
                 {"max_abs", d.max_abs},
                 {"max_ref", d.max_ref},
                 {"rel_max", d.rel_max},
                 {"rms", d.rms},
                 {"top1_agreement", d.top1_agreement}});
  return {{"tensors", t}, {"logits", l}};
}

inline std::string report_table(const std::vector<tensor_error>& tensors,
                                const std::vector<logits_difference>& logits) {
  std::string s = fmt::format("{:<34} {:<5} {:>16} {:>12} {:>12}\n", "tensor", "type", "dims",
                              "rel RMS", "max |err|");
  for (const auto& e : tensors) {
    std::string dims;
    for (size_t i = 0; i < e.dims.size(); ++i) dims += (i ? "x" : "") + std::to_string(e.dims[i]);
    s += fmt::format("{:<34} {:<5} {:>16} {:>12.3e} {:>12.3e}\n", e.name, e.type, dims, e.rel_rms,
                     e.max_abs);
  }
  if (!logits.empty()) {
    s += fmt::format(
        "\nlogits against the F32 conversion (engine, F32 KV cache)\n{:<40} {:>6} "
        "{:>12} {:>12} {:>10}\n",
        "prompt", "tokens", "max|d|/max", "RMS d", "top-1 same");
    for (const auto& d : logits) {
      std::string p = d.prompt.substr(0, 37);
      for (char& ch : p)
        if (ch == '\n') ch = ' ';
      if (d.prompt.size() > 37) p += "...";
      s += fmt::format("{:<40} {:>6} {:>12.3e} {:>12.3e} {:>9.1f}%\n", p, d.tokens, d.rel_max,
                       d.rms, 100.0 * d.top1_agreement);
    }
  }
  return s;
}

}  // namespace edgecloud::convert
