// SPDX-License-Identifier: Apache-2.0
// Hugging Face Qwen3 / Qwen2 checkpoint -> GGUF, as llama.cpp's convert_hf_to_gguf.py writes it.
//
//   auto result = edgecloud::convert::convert_hf_to_gguf("Qwen3-0.6B/", "q.gguf",
//                                                       {.type = convert::out_type::q8_0});
//
// Input: config.json (architectures Qwen3ForCausalLM or Qwen2ForCausalLM; rope_scaling must be
// null, sliding windows off, hidden_act silu), weights (safetensors.hpp: one file or shards,
// BF16/F16/F32), tokenizer.json + tokenizer_config.json (gguf_tokenizer.hpp).
//
// Tensor names (HF -> GGUF; GGUF dims are the HF shape reversed, dims[0] = row length):
//   model.embed_tokens.weight                    token_embd.weight
//   model.norm.weight                            output_norm.weight
//   lm_head.weight                               output.weight (absent when tied)
//   model.layers.N.input_layernorm.weight        blk.N.attn_norm.weight
//   model.layers.N.self_attn.{q,k,v}_proj.weight blk.N.attn_{q,k,v}.weight  (+ .bias, Qwen2)
//   model.layers.N.self_attn.o_proj.weight       blk.N.attn_output.weight
//   model.layers.N.self_attn.{q,k}_norm.weight   blk.N.attn_{q,k}_norm.weight (Qwen3)
//   model.layers.N.post_attention_layernorm      blk.N.ffn_norm.weight
//   model.layers.N.mlp.{gate,up,down}_proj       blk.N.ffn_{gate,up,down}.weight
// Qwen uses NeoX RoPE (rotate_half), so q and k are not permuted (unlike llama.cpp's LLaMA
// path). `rotary_emb.inv_freq` buffers are skipped as llama.cpp does; any other unknown tensor
// is an error, as are missing tensors and shapes that disagree with config.json.
//
// Types (llama.cpp's prepare_tensors): 1-D tensors and norms stay F32; matrices take the
// --outtype: F32, F16 (round to nearest even), BF16 (round to nearest even) or Q8_0 (ggml's
// quantize_row_q8_0 reference: per 32 values d = max|x|/127 stored as fp16, q = round(x * 1/d);
// a row that is not a whole number of blocks falls back to F16). general.file_type is
// llama_ftype (0 F32, 1 F16, 7 Q8_0, 32 BF16), general.quantization_version = 2.
//
// Streaming: every output tensor is a gguf::writer producer that reads its source a block of
// rows at a time from the mapping, encodes it, writes it, then releases the source pages, so the
// resident set stays around one block plus the tokenizer, whatever the checkpoint size.
//
// Ownership: plain value types; convert_hf_to_gguf holds the mapped checkpoint only while it
// writes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <edgecloud/convert/gguf_tokenizer.hpp>
#include <edgecloud/convert/safetensors.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels/reference.hpp>
#include <edgecloud/kernels/types.hpp>
#include <edgecloud/model/gguf_types.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/text/vocab.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace edgecloud::convert {

enum class out_type { f32, f16, bf16, q8_0 };

inline out_type parse_out_type(std::string_view s) {
  if (s == "f32") return out_type::f32;
  if (s == "f16") return out_type::f16;
  if (s == "bf16") return out_type::bf16;
  if (s == "q8_0") return out_type::q8_0;
  throw config_error("--outtype must be f32, f16, bf16 or q8_0, not " + std::string(s));
}
inline uint32_t ggml_type_of(out_type t) {
  switch (t) {
    case out_type::f32:
      return gguf::type_f32;
    case out_type::f16:
      return gguf::type_f16;
    case out_type::bf16:
      return gguf::type_bf16;
    case out_type::q8_0:
      return gguf::type_q8_0;
  }
  return gguf::type_f32;
}
// llama_ftype of a model whose matrices are `t`.
inline uint32_t file_type_of(out_type t) {
  switch (t) {
    case out_type::f32:
      return 0;
    case out_type::f16:
      return 1;
    case out_type::bf16:
      return 32;
    case out_type::q8_0:
      return 7;
  }
  return 0;
}

namespace detail {

inline nlohmann::json read_json_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw model_error("cannot open " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw model_error(p.string() + ": not valid JSON: " + e.what());
  }
}

}  // namespace detail

// config.json of a Qwen3ForCausalLM / Qwen2ForCausalLM checkpoint (defaults are transformers').
struct hf_config {
  std::string hf_architecture;  // "Qwen3ForCausalLM"
  std::string arch;             // GGUF general.architecture: "qwen3" or "qwen2"
  uint64_t hidden = 0, ffn = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  uint64_t context = 32768;
  double rope_theta = 10000.0, rms_eps = 1e-6;
  bool tied = false;
  bool qkv_bias = false;  // Qwen2
  std::optional<int64_t> bos_token_id, eos_token_id, pad_token_id;

  static hf_config read(const std::filesystem::path& config_json) {
    const std::string where = config_json.string();
    const nlohmann::json j = detail::read_json_file(config_json);
    auto fail = [&](const std::string& m) -> void { throw model_error(where + ": " + m); };
    if (!j.is_object()) fail("not a JSON object");
    hf_config c;
    try {
      if (!j.contains("architectures") || !j["architectures"].is_array() ||
          j["architectures"].size() != 1 || !j["architectures"][0].is_string())
        fail("\"architectures\" must name one architecture");
      c.hf_architecture = j["architectures"][0].get<std::string>();
      if (c.hf_architecture == "Qwen3ForCausalLM")
        c.arch = "qwen3";
      else if (c.hf_architecture == "Qwen2ForCausalLM")
        c.arch = "qwen2";
      else
        fail("architecture " + c.hf_architecture +
             " is not supported (Qwen3ForCausalLM or Qwen2ForCausalLM)");
      c.qkv_bias = c.arch == "qwen2";
      auto u = [&](const char* key, std::optional<uint64_t> fallback = std::nullopt) -> uint64_t {
        if (!j.contains(key) || j[key].is_null()) {
          if (!fallback) fail(std::string("missing ") + key);
          return *fallback;
        }
        if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0)
          fail(std::string(key) + " must be a positive integer, not " + j[key].dump());
        return j[key].get<uint64_t>();
      };
      c.hidden = u("hidden_size");
      c.ffn = u("intermediate_size");
      c.layers = u("num_hidden_layers");
      c.heads = u("num_attention_heads");
      c.kv_heads = u("num_key_value_heads", c.heads);
      c.vocab = u("vocab_size");
      c.context = u("max_position_embeddings", 32768);
      if (c.hidden % c.heads) fail("hidden_size is not a multiple of num_attention_heads");
      c.head_dim = u("head_dim", c.hidden / c.heads);
      if (c.heads % c.kv_heads)
        fail("num_attention_heads is not a multiple of num_key_value_heads");
      if (c.head_dim % 2) fail("head_dim must be even (RoPE rotates pairs)");
      auto num = [&](const char* key, double fallback) {
        if (!j.contains(key) || j[key].is_null()) return fallback;
        if (!j[key].is_number()) fail(std::string(key) + " is not a number");
        return j[key].get<double>();
      };
      c.rope_theta = num("rope_theta", 10000.0);
      c.rms_eps = num("rms_norm_eps", 1e-6);
      if (!(c.rope_theta > 0) || !(c.rms_eps > 0)) fail("rope_theta and rms_norm_eps must be > 0");
      c.tied = j.value("tie_word_embeddings", false);
      if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
        fail("rope_scaling " + j["rope_scaling"].dump() +
             " is not supported (the engine implements plain RoPE only)");
      if (j.value("use_sliding_window", false))
        fail("use_sliding_window = true is not supported (full attention only)");
      if (j.value("hidden_act", std::string("silu")) != "silu")
        fail("hidden_act " + j["hidden_act"].dump() + " is not supported (silu only)");
      if (c.arch == "qwen3" && j.value("attention_bias", false))
        fail("attention_bias = true is not supported for Qwen3");
      auto id = [&](const char* key) -> std::optional<int64_t> {
        if (j.contains(key) && j[key].is_number_integer()) return j[key].get<int64_t>();
        return std::nullopt;
      };
      c.bos_token_id = id("bos_token_id");
      c.eos_token_id = id("eos_token_id");
      c.pad_token_id = id("pad_token_id");
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("a value has the wrong type: ") + e.what());
    }
    return c;
  }
};

// One output tensor: its GGUF name, dims, type and source tensor.
struct planned_tensor {
  std::string gguf_name, hf_name;
  std::vector<uint64_t> dims;  // GGUF order
  uint32_t type = gguf::type_f32;
};

// The GGUF name of an HF tensor (empty for tensors llama.cpp skips); throws model_error for
// names it does not know.
inline std::string gguf_tensor_name(const std::string& hf, const hf_config& c) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  if (hf.ends_with(".rotary_emb.inv_freq")) return {};
  static const std::pair<const char*, const char*> layer_names[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  const std::string prefix = "model.layers.";
  if (hf.starts_with(prefix)) {
    const size_t dot = hf.find('.', prefix.size());
    const std::string n = hf.substr(prefix.size(), dot - prefix.size());
    if (dot != std::string::npos && !n.empty() && n.size() < 6 &&
        std::all_of(n.begin(), n.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      const std::string rest = hf.substr(dot + 1);
      for (const auto& [from, to] : layer_names)
        if (rest == from) {
          const bool bias = rest.ends_with(".bias"),
                     qk_norm =
                         rest.find("_norm.") != std::string::npos && rest.starts_with("self_attn.");
          if ((bias && !c.qkv_bias) || (qk_norm && c.arch != "qwen3")) break;
          return "blk." + std::to_string(std::stoul(n)) + "." + to;
        }
    }
  }
  throw model_error("tensor " + hf + " has no GGUF name for " + c.hf_architecture +
                    " (not a tensor of this architecture)");
}

// The expected HF shape (torch order) of each tensor the architecture needs, by HF name.
inline std::vector<std::pair<std::string, std::vector<uint64_t>>> expected_tensors(
    const hf_config& c) {
  std::vector<std::pair<std::string, std::vector<uint64_t>>> e;
  const uint64_t q = c.heads * c.head_dim, kv = c.kv_heads * c.head_dim;
  e.push_back({"model.embed_tokens.weight", {c.vocab, c.hidden}});
  e.push_back({"model.norm.weight", {c.hidden}});
  if (!c.tied) e.push_back({"lm_head.weight", {c.vocab, c.hidden}});
  for (uint64_t l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    e.push_back({p + "input_layernorm.weight", {c.hidden}});
    e.push_back({p + "self_attn.q_proj.weight", {q, c.hidden}});
    e.push_back({p + "self_attn.k_proj.weight", {kv, c.hidden}});
    e.push_back({p + "self_attn.v_proj.weight", {kv, c.hidden}});
    if (c.qkv_bias) {
      e.push_back({p + "self_attn.q_proj.bias", {q}});
      e.push_back({p + "self_attn.k_proj.bias", {kv}});
      e.push_back({p + "self_attn.v_proj.bias", {kv}});
    }
    e.push_back({p + "self_attn.o_proj.weight", {c.hidden, q}});
    if (c.arch == "qwen3") {
      e.push_back({p + "self_attn.q_norm.weight", {c.head_dim}});
      e.push_back({p + "self_attn.k_norm.weight", {c.head_dim}});
    }
    e.push_back({p + "post_attention_layernorm.weight", {c.hidden}});
    e.push_back({p + "mlp.gate_proj.weight", {c.ffn, c.hidden}});
    e.push_back({p + "mlp.up_proj.weight", {c.ffn, c.hidden}});
    e.push_back({p + "mlp.down_proj.weight", {c.hidden, c.ffn}});
  }
  return e;
}

inline std::string shape_text(const std::vector<uint64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// Checks the checkpoint against config.json and lists the output tensors in llama.cpp's order
// (token_embd, output_norm, output, then layer by layer).
inline std::vector<planned_tensor> plan_tensors(const checkpoint& ck, const hf_config& c,
                                                out_type t) {
  const auto expected = expected_tensors(c);
  std::set<std::string> wanted;
  for (const auto& [name, shape] : expected) wanted.insert(name);
  for (const auto& name : ck.names()) {
    const std::string g = gguf_tensor_name(name, c);
    if (g.empty()) continue;
    if (!wanted.count(name)) {
      if (name == "lm_head.weight" && c.tied) continue;  // tied: the embedding is the output
      throw model_error(ck.description() + ": tensor " + name + " is not expected with " +
                        "config.json's num_hidden_layers = " + std::to_string(c.layers));
    }
  }
  std::vector<planned_tensor> plan;
  for (const auto& [name, shape] : expected) {
    const st_tensor* s = ck.find(name);
    if (!s)
      throw model_error(
          ck.description() + ": missing tensor " + name +
          (name == "lm_head.weight" ? " (config.json says tie_word_embeddings = false)" : ""));
    if (s->shape != shape)
      throw model_error(ck.file_of(name).path().string() + ": tensor " + name + " has shape " +
                        shape_text(s->shape) + ", config.json implies " + shape_text(shape));
    planned_tensor p;
    p.hf_name = name;
    p.gguf_name = gguf_tensor_name(name, c);
    p.dims.assign(shape.rbegin(), shape.rend());
    const bool vector_like = shape.size() <= 1 || p.gguf_name.ends_with("_norm.weight");
    p.type = vector_like ? gguf::type_f32 : ggml_type_of(t);
    if (p.type == gguf::type_q8_0 && p.dims[0] % kernels::q8_0_block_size) p.type = gguf::type_f16;
    plan.push_back(std::move(p));
  }
  return plan;
}

// Encodes `rows` rows of `cols` floats as GGML type `type` into `out`.
inline void encode_rows(uint32_t type, const float* x, size_t rows, size_t cols, std::byte* out) {
  const size_t n = rows * cols;
  switch (type) {
    case gguf::type_f32:
      std::memcpy(out, x, n * 4);
      return;
    case gguf::type_f16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = kernels::fp32_to_fp16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case gguf::type_bf16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = kernels::fp32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case gguf::type_q8_0: {
      const size_t row_bytes = cols / kernels::q8_0_block_size * sizeof(kernels::block_q8_0);
      for (size_t r = 0; r < rows; ++r)
        kernels::reference::quantize_row_q8_0(
            x + r * cols, reinterpret_cast<kernels::block_q8_0*>(out + r * row_bytes), cols);
      return;
    }
    default:
      throw config_error("encode_rows: unsupported GGML type " + std::to_string(type));
  }
}

// Quantization error of one tensor against its f32 source: relative RMS = ||x - x̂|| / ||x||,
// max |x - x̂| (both 0 for F32 outputs).
struct tensor_error {
  std::string name;
  std::string type;
  std::vector<uint64_t> dims;
  double rel_rms = 0, max_abs = 0;
};

struct convert_options {
  out_type type = out_type::f32;
  bool measure_error = false;  // fill convert_result::errors (decodes every encoded block)
  std::string name;            // general.name; default: the checkpoint directory's name
};

struct convert_result {
  hf_config config;
  std::vector<tensor_error> errors;  // per tensor when measure_error
  uint64_t parameters = 0;
  uint64_t bytes = 0;  // of the GGUF file
  size_t tensors = 0;
};

// llama.cpp's gguf.size_label for a dense model ("596M", "1.5B").
inline std::string size_label(uint64_t params) {
  double v = static_cast<double>(params);
  const char* suffix = "K";
  double scaled = v * 1e-3;
  if (v > 1e12)
    scaled = v * 1e-12, suffix = "T";
  else if (v > 1e9)
    scaled = v * 1e-9, suffix = "B";
  else if (v > 1e6)
    scaled = v * 1e-6, suffix = "M";
  const std::string whole = std::to_string(static_cast<long long>(std::llround(scaled)));
  const int digits = static_cast<int>(whole.find_first_not_of('0') == std::string::npos
                                          ? 0
                                          : whole.size() - whole.find_first_not_of('0'));
  const int fix = std::max(2 - digits, 0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", fix, scaled, suffix);
  return buf;
}

// The tokenizer of an HF directory as llama.cpp writes it for a model of `c.vocab` rows.
inline gguf_vocab read_hf_vocab(const std::filesystem::path& dir, const hf_config& c) {
  const auto tj = dir / "tokenizer.json";
  if (!std::filesystem::exists(tj))
    throw model_error(dir.string() +
                      ": no tokenizer.json (only Hugging Face fast tokenizers are supported)");
  text::vocab_data v = text::read_hf_tokenizer(tj);
  if (!v.nfc)
    throw text_error(tj.string() +
                     ": the tokenizer has no NFC normalizer, which a GGUF file cannot "
                     "record; models read from GGUF always normalise to NFC");
  if (v.tokens.size() > c.vocab)
    throw model_error(tj.string() + ": the tokenizer has " + std::to_string(v.tokens.size()) +
                      " tokens but config.json's vocab_size is " + std::to_string(c.vocab));
  // Chat template: tokenizer_config.json, else chat_template.jinja (newer transformers).
  if (v.chat_template.empty() && std::filesystem::exists(dir / "chat_template.jinja")) {
    std::ifstream in(dir / "chat_template.jinja", std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    v.chat_template = ss.str();
  }
  std::vector<std::pair<std::string, bool>> add;
  if (std::filesystem::exists(dir / "tokenizer_config.json")) {
    const auto tc = detail::read_json_file(dir / "tokenizer_config.json");
    for (const char* typ : {"bos", "eos"}) {
      const std::string key = std::string("add_") + typ + "_token";
      if (tc.is_object() && tc.contains(key) && tc[key].is_boolean())
        add.emplace_back(typ, tc[key].get<bool>());
    }
  }
  config_special_ids ids;
  ids.bos = c.bos_token_id;
  ids.eos = c.eos_token_id;
  ids.pad = c.pad_token_id;
  return to_gguf_vocab(v, c.vocab, ids, std::move(add));
}

// Adds general.* and <arch>.* metadata (llama.cpp's set_gguf_parameters).
inline void add_model_metadata(gguf::writer& w, const hf_config& c, const std::string& name,
                               uint64_t params, out_type t) {
  w.add_string("general.architecture", c.arch);
  w.add_string("general.type", "model");
  w.add_string("general.name", name);
  w.add_string("general.size_label", size_label(params));
  const std::string a = c.arch + ".";
  w.add_u32(a + "block_count", static_cast<uint32_t>(c.layers));
  w.add_u32(a + "context_length", static_cast<uint32_t>(c.context));
  w.add_u32(a + "embedding_length", static_cast<uint32_t>(c.hidden));
  w.add_u32(a + "feed_forward_length", static_cast<uint32_t>(c.ffn));
  w.add_u32(a + "attention.head_count", static_cast<uint32_t>(c.heads));
  w.add_u32(a + "attention.head_count_kv", static_cast<uint32_t>(c.kv_heads));
  w.add_f32(a + "rope.freq_base", static_cast<float>(c.rope_theta));
  w.add_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_eps));
  w.add_u32(a + "attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.add_u32(a + "attention.value_length", static_cast<uint32_t>(c.head_dim));
  w.add_u32("general.file_type", file_type_of(t));
}

// Converts `hf_dir` to `out` (written through a temporary renamed at the end). Throws
// model_error / text_error naming the file and the problem, config_error for I/O failures.
inline convert_result convert_hf_to_gguf(const std::filesystem::path& hf_dir,
                                         const std::filesystem::path& out,
                                         const convert_options& opt = {}) {
  convert_result r;
  r.config = hf_config::read(hf_dir / "config.json");
  const hf_config& c = r.config;
  const checkpoint ck = checkpoint::open_dir(hf_dir);
  const auto plan = plan_tensors(ck, c, opt.type);
  const gguf_vocab vocab = read_hf_vocab(hf_dir, c);
  for (const auto& p : plan) r.parameters += ck.get(p.hf_name).n_elements();

  gguf::writer w;
  std::string name = opt.name;
  if (name.empty()) name = std::filesystem::absolute(hf_dir).lexically_normal().filename().string();
  if (name.empty())
    name = std::filesystem::absolute(hf_dir).lexically_normal().parent_path().filename().string();
  add_model_metadata(w, c, name, r.parameters, opt.type);
  add_tokenizer_metadata(w, vocab);
  w.add_u32("general.quantization_version", 2);

  if (opt.measure_error) r.errors.resize(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const planned_tensor& p = plan[i];
    const st_tensor* src = &ck.get(p.hf_name);
    tensor_error* err = opt.measure_error ? &r.errors[i] : nullptr;
    if (err) {
      err->name = p.gguf_name;
      err->type = gguf::ggml_type_name(p.type);
      err->dims = p.dims;
    }
    w.add_tensor(
        p.gguf_name, p.dims, p.type, [&ck, src, type = p.type, err](gguf::byte_sink& sink) {
          const size_t cols = static_cast<size_t>(src->cols()),
                       rows = static_cast<size_t>(src->rows());
          const size_t block_rows = std::max<size_t>(1, (size_t{1} << 20) / cols);
          const size_t row_bytes =
              static_cast<size_t>(*gguf::tensor_bytes(type, std::vector<uint64_t>{cols}));
          std::vector<float> x(std::min(block_rows, rows) * cols), back(err ? x.size() : 0);
          std::vector<std::byte> enc(std::min(block_rows, rows) * row_bytes);
          double se = 0, sx = 0, mx = 0;
          for (size_t r0 = 0; r0 < rows; r0 += block_rows) {
            const size_t nr = std::min(block_rows, rows - r0);
            read_rows_f32(*src, r0, nr, x.data());
            const uint64_t src_row = src->cols() * st_dtype_size(src->dtype);
            ck.release(*src, r0 * src_row, (r0 + nr) * src_row);  // done with these source pages
            encode_rows(type, x.data(), nr, cols, enc.data());
            sink.write(enc.data(), nr * row_bytes);
            if (err && type != gguf::type_f32) {
              for (size_t k = 0; k < nr; ++k)
                kernels::reference::dequantize_row(static_cast<kernels::dtype>(type),
                                                   enc.data() + k * row_bytes,
                                                   back.data() + k * cols, cols);
              for (size_t k = 0; k < nr * cols; ++k) {
                const double d = double(x[k]) - double(back[k]);
                se += d * d;
                sx += double(x[k]) * double(x[k]);
                mx = std::max(mx, std::fabs(d));
              }
            }
          }
          if (err) {
            err->rel_rms = sx > 0 ? std::sqrt(se / sx) : 0.0;
            err->max_abs = mx;
          }
          ck.release(*src);
        });
  }
  r.tensors = plan.size();
  r.bytes = w.file_size();
  w.write(out);
  return r;
}

}  // namespace edgecloud::convert
