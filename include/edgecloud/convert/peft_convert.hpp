// SPDX-License-Identifier: Apache-2.0
// PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) -> GGUF LoRA in llama.cpp's
// convention (what convert_lora_to_gguf.py writes and llama.cpp's llama_adapter_lora_init reads):
//   general.architecture   the base GGUF's ("qwen3", "qwen2")
//   general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32)
//   blk.N.<name>.weight.lora_a   GGUF dims {in, r}    (PEFT lora_A.weight, torch [r, in])
//   blk.N.<name>.weight.lora_b   GGUF dims {r, out}   (PEFT lora_B.weight, torch [out, r])
// The runtime applies y = W x + s * B (A x) with s = scale * alpha / r, r read from the tensors.
//
// rsLoRA (use_rslora): PEFT scales by lora_alpha / sqrt(r) instead of lora_alpha / r. llama.cpp's
// convert_lora_to_gguf.py ignores the flag and writes lora_alpha, so its files apply the wrong
// scale; here alpha is written as lora_alpha * sqrt(r), which gives a reader of the llama.cpp
// convention (alpha / r) exactly PEFT's lora_alpha / sqrt(r).
//
// Refused with a model_error naming the file: DoRA (use_dora; needs a magnitude vector the format
// has no place for), bias != "none", fan_in_fan_out, modules_to_save, alpha_pattern, rank_pattern
// with rsLoRA, target modules other than q/k/v/o/gate/up/down_proj (embed_tokens and lm_head
// included), tensors that are not lora_A / lora_B of those modules, shapes that disagree with r
// or with the base model, layers the base does not have.
//
// Types: --outtype f32 / f16 / bf16 / q8_0 as llama.cpp: Q8_0 needs rows of whole 32-blocks, so
// lora_b (rows of r values) falls back to F16 when r % 32 != 0.
//
// Ownership: plain value types; convert_peft_to_gguf maps its inputs only while it writes.
#pragma once

#include <cmath>
#include <edgecloud/convert/hf_convert.hpp>
#include <edgecloud/convert/safetensors.hpp>
#include <edgecloud/model/gguf.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace edgecloud::convert {

struct peft_config {
  uint64_t r = 0;
  double lora_alpha = 0;
  bool use_rslora = false;
  bool rank_pattern = false;                // per-module ranks given (then r is only the default)
  std::vector<std::string> target_modules;  // as given ("all-linear" kept as one entry)

  // The alpha written to adapter.lora.alpha (see the file comment).
  double gguf_alpha() const { return use_rslora ? lora_alpha * std::sqrt(double(r)) : lora_alpha; }

  static peft_config read(const std::filesystem::path& p) {
    const std::string where = p.string();
    auto fail = [&](const std::string& m) -> void { throw model_error(where + ": " + m); };
    const nlohmann::json j = detail::read_json_file(p);
    if (!j.is_object()) fail("not a JSON object");
    peft_config c;
    try {
      const std::string type = j.value("peft_type", std::string("LORA"));
      if (type != "LORA") fail("peft_type " + type + " is not supported (LORA only)");
      if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0)
        fail("r must be a positive integer");
      c.r = j["r"].get<uint64_t>();
      if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number())
        fail("lora_alpha must be a number");
      c.lora_alpha = j["lora_alpha"].get<double>();
      c.use_rslora = j.value("use_rslora", false);
      if (j.value("use_dora", false))
        fail(
            "use_dora = true (DoRA) is not supported: its magnitude vectors have no place in a "
            "llama.cpp LoRA; merge the adapter into the base instead");
      const std::string bias =
          j.contains("bias") && j["bias"].is_string() ? j["bias"].get<std::string>() : "none";
      if (bias != "none")
        fail("bias = \"" + bias +
             "\" is not supported (only \"none\": trained biases cannot be stored)");
      if (j.value("fan_in_fan_out", false))
        fail("fan_in_fan_out = true is not supported (Conv1D models)");
      for (const char* key : {"modules_to_save", "alpha_pattern"})
        if (j.contains(key) && !j[key].is_null() && !j[key].empty())
          fail(std::string(key) + " " + j[key].dump() + " is not supported");
      c.rank_pattern =
          j.contains("rank_pattern") && !j["rank_pattern"].is_null() && !j["rank_pattern"].empty();
      if (c.use_rslora && c.rank_pattern)
        fail(
            "rank_pattern with use_rslora is not supported (one alpha cannot give every rank "
            "alpha/sqrt(r))");
      static const std::set<std::string> known = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"};
      const auto& t = j.contains("target_modules") ? j["target_modules"] : nlohmann::json();
      if (t.is_string()) {
        c.target_modules.push_back(
            t.get<std::string>());  // "all-linear" or a regex: the tensors decide
      } else if (t.is_array()) {
        for (const auto& m : t) {
          std::string s = m.get<std::string>();
          const std::string last =
              s.substr(s.rfind('.') == std::string::npos ? 0 : s.rfind('.') + 1);
          if (!known.count(last))
            fail("target module " + s +
                 " is not supported (q_proj, k_proj, v_proj, o_proj, "
                 "gate_proj, up_proj, down_proj" +
                 (last == "embed_tokens" || last == "lm_head"
                      ? "; LoRA on embeddings or the output head is not"
                      : "") +
                 ")");
          c.target_modules.push_back(s);
        }
      } else {
        fail("target_modules missing");
      }
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("a value has the wrong type: ") + e.what());
    }
    return c;
  }
};

// One converted pair: base tensor name (blk.N.attn_q.weight) and the PEFT A / B tensors.
struct lora_pair {
  std::string base_name;
  std::string a_name, b_name;  // PEFT names
  uint64_t layer = 0;
  uint64_t in = 0, out = 0, r = 0;
};

// "base_model.model.model.layers.3.self_attn.q_proj" -> "blk.3.attn_q.weight" (empty if unknown).
inline std::string lora_base_name(const std::string& module, uint64_t& layer) {
  static const std::pair<const char*, const char*> names[] = {
      {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"}, {"self_attn.o_proj", "attn_output"},
      {"mlp.gate_proj", "ffn_gate"},  {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"}};
  const std::string prefix = "base_model.model.model.layers.";
  if (!module.starts_with(prefix)) return {};
  const size_t dot = module.find('.', prefix.size());
  if (dot == std::string::npos) return {};
  const std::string n = module.substr(prefix.size(), dot - prefix.size());
  if (n.empty() || n.size() > 5 ||
      !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return {};
  layer = std::stoull(n);
  const std::string rest = module.substr(dot + 1);
  for (const auto& [from, to] : names)
    if (rest == from) return "blk." + std::to_string(layer) + "." + to + ".weight";
  return {};
}

struct lora_convert_result {
  peft_config config;
  std::string architecture;
  double alpha = 0;  // written
  std::vector<lora_pair> pairs;
  uint64_t bytes = 0;
};

inline lora_convert_result convert_peft_to_gguf(const std::filesystem::path& peft_dir,
                                                const std::filesystem::path& base_gguf,
                                                const std::filesystem::path& out, out_type type) {
  lora_convert_result res;
  res.config = peft_config::read(peft_dir / "adapter_config.json");
  const auto weights = peft_dir / "adapter_model.safetensors";
  if (!std::filesystem::exists(weights))
    throw model_error(peft_dir.string() + ": no adapter_model.safetensors" +
                      (std::filesystem::exists(peft_dir / "adapter_model.bin")
                           ? " (only adapter_model.bin: save the adapter with safe_serialization)"
                           : ""));
  const checkpoint ck = checkpoint::open_file(weights);
  const gguf::file base = gguf::file::open(base_gguf);
  res.architecture = std::string(base.get_string("general.architecture").value_or(""));
  if (res.architecture != "qwen3" && res.architecture != "qwen2")
    throw model_error(base_gguf.string() + ": base architecture '" + res.architecture +
                      "' is not supported (qwen3 or qwen2)");
  if (base.get_string("general.type").value_or("model") == "adapter")
    throw model_error(base_gguf.string() + ": is itself an adapter, not a base model");
  const uint64_t n_layers = base.get_uint(res.architecture + ".block_count").value_or(0);

  std::map<std::string, lora_pair> pairs;  // by base name
  const std::string where = weights.string();
  for (const std::string& name : ck.names()) {
    std::string module;
    bool is_a = false;
    if (name.ends_with(".lora_A.weight")) {
      module = name.substr(0, name.size() - 14);
      is_a = true;
    } else if (name.ends_with(".lora_B.weight")) {
      module = name.substr(0, name.size() - 14);
    } else {
      throw model_error(
          where + ": tensor " + name + " is not a lora_A / lora_B weight" +
          (name.find("embed") != std::string::npos || name.find("lm_head") != std::string::npos
               ? " (embeddings or output head in the adapter, e.g. new tokens: not supported)"
               : ""));
    }
    uint64_t layer = 0;
    const std::string base_name = lora_base_name(module, layer);
    if (base_name.empty())
      throw model_error(where + ": tensor " + name + " targets " + module +
                        ", not a q/k/v/o/gate/up/down projection of a decoder layer");
    if (layer >= n_layers)
      throw model_error(where + ": tensor " + name + " is for layer " + std::to_string(layer) +
                        " but the base has " + std::to_string(n_layers) + " layers");
    auto& p = pairs[base_name];
    p.base_name = base_name;
    p.layer = layer;
    (is_a ? p.a_name : p.b_name) = name;
  }
  if (pairs.empty()) throw model_error(where + ": no LoRA tensors");
  for (auto& [base_name, p] : pairs) {
    if (p.a_name.empty() || p.b_name.empty())
      throw model_error(where + ": " + (p.a_name.empty() ? p.b_name : p.a_name) +
                        " has no matching " + (p.a_name.empty() ? "lora_A" : "lora_B"));
    const st_tensor& a = ck.get(p.a_name);
    const st_tensor& b = ck.get(p.b_name);
    if (a.shape.size() != 2 || b.shape.size() != 2 || a.shape[0] != b.shape[1])
      throw model_error(where + ": " + p.a_name + " " + shape_text(a.shape) + " and " + p.b_name +
                        " " + shape_text(b.shape) + " are not [r, in] and [out, r]");
    p.r = a.shape[0];
    p.in = a.shape[1];
    p.out = b.shape[0];
    const gguf::tensor_info* w = base.find_tensor(base_name);
    if (!w || w->dims.size() != 2)
      throw model_error(base_gguf.string() + ": no 2-D tensor " + base_name + " for " + p.a_name);
    if (w->dims[0] != p.in || w->dims[1] != p.out)
      throw model_error(where + ": " + p.a_name + " / lora_B give " + base_name + " " +
                        std::to_string(p.out) + "x" + std::to_string(p.in) +
                        " (out x in), the base has " + std::to_string(w->dims[1]) + "x" +
                        std::to_string(w->dims[0]));
    if (!res.config.rank_pattern && p.r != res.config.r)
      throw model_error(where + ": " + p.a_name + " has rank " + std::to_string(p.r) +
                        ", adapter_config.json says r = " + std::to_string(res.config.r));
  }
  res.alpha = res.config.gguf_alpha();

  gguf::writer wr;
  wr.add_string("general.architecture", res.architecture);
  wr.add_string("general.type", "adapter");
  wr.add_string("general.name",
                std::filesystem::absolute(peft_dir).lexically_normal().filename().string());
  wr.add_string("adapter.type", "lora");
  wr.add_f32("adapter.lora.alpha", static_cast<float>(res.alpha));
  wr.add_u32("general.quantization_version", 2);
  // Layer by layer, in the module order of llama.cpp's tensor list.
  std::vector<lora_pair> ordered;
  static const char* order[] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                "ffn_gate", "ffn_up", "ffn_down"};
  for (uint64_t l = 0; l < n_layers; ++l)
    for (const char* m : order) {
      auto it = pairs.find("blk." + std::to_string(l) + "." + m + ".weight");
      if (it != pairs.end()) ordered.push_back(it->second);
    }
  const uint32_t want = ggml_type_of(type);
  for (const lora_pair& p : ordered) {
    for (int which = 0; which < 2; ++which) {
      const st_tensor* src = &ck.get(which == 0 ? p.a_name : p.b_name);
      std::vector<uint64_t> dims =
          which == 0 ? std::vector<uint64_t>{p.in, p.r} : std::vector<uint64_t>{p.r, p.out};
      uint32_t t = want;
      if (t == gguf::type_q8_0 && dims[0] % kernels::q8_0_block_size) t = gguf::type_f16;
      wr.add_tensor(p.base_name + (which == 0 ? ".lora_a" : ".lora_b"), dims, t,
                    [src, t](gguf::byte_sink& sink) {
                      const auto x = read_f32(*src);
                      const size_t cols = static_cast<size_t>(src->cols()),
                                   rows = static_cast<size_t>(src->rows());
                      std::vector<std::byte> enc(static_cast<size_t>(
                          *gguf::tensor_bytes(t, std::vector<uint64_t>{cols, rows})));
                      encode_rows(t, x.data(), rows, cols, enc.data());
                      sink.write(enc.data(), enc.size());
                    });
    }
  }
  res.pairs = ordered;
  res.bytes = wr.file_size();
  wr.write(out);
  return res;
}

}  // namespace edgecloud::convert
