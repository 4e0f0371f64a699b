// SPDX-License-Identifier: Apache-2.0
// Development tool (an app never includes it): writes random-weight Hugging Face checkpoints of
// Qwen3ForCausalLM / Qwen2ForCausalLM and PEFT LoRA adapters for them, for the converter's tests,
// benchmarks and the training tools.
//
//   edgecloud::testing::hf_checkpoint_spec spec;          // tiny Qwen3, BF16, tied, 1 file
//   spec.shards = 2; spec.tied = false;
//   edgecloud::testing::write_hf_checkpoint("ckpt/", spec);
//   edgecloud::testing::write_peft_adapter("adapter/", spec, {.r = 8, .alpha = 16});
//
// Checkpoint: config.json, model.safetensors or model-0000i-of-0000n.safetensors +
// model.safetensors.index.json (tensors split in contiguous runs), and a tokenizer: tokenizer.json
// + tokenizer_config.json copied from `tokenizer_from`, or a small synthetic byte-level BPE (256
// byte symbols, a few merges, <|endoftext|> <|im_start|> <|im_end|> <think> </think>
// <|fim_prefix|>, the Qwen3 chat template) whose ids fit a vocab_size of a few hundred.
// Values: embeddings ~ N(0, 1), norms ~ 1 + N(0, 0.1), matrices ~ N(0, 0.05), biases ~ N(0, 0.1),
// LoRA A ~ N(0, 0.1), B ~ N(0, 0.1) (a trained adapter: PEFT initialises B to zero), each tensor
// from a generator seeded by (seed, tensor name): the files are a pure function of the spec.
// Tensors are produced one at a time while the file is written (a 0.6B checkpoint is fine).
//
// Ownership: nothing held; the functions write files and return.
#pragma once

#include <cstdint>
#include <edgecloud/convert/safetensors.hpp>
#include <edgecloud/error.hpp>
#include <edgecloud/model/gguf_random_qwen3.hpp>
#include <edgecloud/text/qwen3_chat_template.hpp>
#include <edgecloud/text/vocab.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edgecloud::testing {

struct hf_checkpoint_spec {
  std::string architecture = "Qwen3ForCausalLM";  // or "Qwen2ForCausalLM"
  uint64_t hidden = 64, ffn = 128, layers = 2, heads = 4, kv_heads = 2, head_dim = 16;
  uint64_t vocab = 320;  // >= the tokenizer's size (the synthetic one has 270 tokens)
  uint64_t context = 4096;
  double rope_theta = 1e6, rms_eps = 1e-6;
  bool tied = true;
  convert::st_dtype dtype = convert::st_dtype::bf16;
  unsigned shards = 1;  // > 1: model-0000i-of-0000n.safetensors + index
  uint64_t seed = 1;
  std::filesystem::path
      tokenizer_from;  // a directory with tokenizer.json (+ _config); empty: synthetic

  // Qwen/Qwen3-0.6B's shape (BF16, tied), with the real vocabulary size.
  static hf_checkpoint_spec qwen3_0_6b() {
    hf_checkpoint_spec s;
    s.hidden = 1024, s.ffn = 3072, s.layers = 28, s.heads = 16, s.kv_heads = 8, s.head_dim = 128;
    s.vocab = 151936, s.context = 40960;
    return s;
  }
  bool qwen2() const { return architecture == "Qwen2ForCausalLM"; }
};

struct peft_spec {
  uint64_t r = 4;
  double alpha = 8;
  std::vector<std::string> target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                             "gate_proj", "up_proj", "down_proj"};
  bool use_rslora = false;
  bool use_dora = false;
  bool fan_in_fan_out = false;
  std::string bias = "none";
  convert::st_dtype dtype = convert::st_dtype::f32;
  uint64_t seed = 7;
  std::vector<uint64_t> layers;  // empty: all layers
};

namespace detail {

inline std::vector<std::byte> random_values(const std::string& name, uint64_t seed, uint64_t n,
                                            float mean, float stddev, convert::st_dtype dtype) {
  gguf::detail::xoshiro256 rng(seed ^ gguf::detail::fnv1a(name));
  std::vector<float> x(static_cast<size_t>(n));
  gguf::detail::fill_normal(rng, x.data(), x.size(), mean, stddev);
  std::vector<std::byte> b(x.size() * convert::st_dtype_size(dtype));
  for (size_t i = 0; i < x.size(); ++i) {
    if (dtype == convert::st_dtype::f32) {
      std::memcpy(b.data() + 4 * i, &x[i], 4);
    } else {
      const uint16_t h = dtype == convert::st_dtype::f16 ? kernels::fp32_to_fp16(x[i])
                                                         : kernels::fp32_to_bf16(x[i]);
      std::memcpy(b.data() + 2 * i, &h, 2);
    }
  }
  return b;
}

inline void write_text(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
  if (!out) throw config_error("cannot write " + p.string());
}

// The synthetic tokenizer: byte symbols in the order of their byte-level code points, merges
// that build a few English words, then the added tokens.
inline void write_synthetic_tokenizer(const std::filesystem::path& dir) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  std::vector<std::pair<char32_t, unsigned>> alphabet;
  for (unsigned b = 0; b < 256; ++b)
    alphabet.emplace_back(text::byte_level::byte_to_code_point[b], b);
  std::sort(alphabet.begin(), alphabet.end());
  int id = 0;
  for (auto& [cp, b] : alphabet) vocab[text::byte_level::encode(std::string(1, char(b)))] = id++;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"\xc4\xa0", "t"}, {"h", "e"}, {"\xc4\xa0t", "he"}, {"i", "n"}, {"\xc4\xa0", "a"},
      {"o", "n"},        {"e", "r"}, {"\xc4\xa0", "w"},   {"a", "t"}, {"\xc4\xa0", "s"}};
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    merge_list.push_back(a + " " + b);
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
  }
  struct added {
    const char* content;
    bool special;
  };
  const added added_tokens[] = {{"<|endoftext|>", true}, {"<|im_start|>", true},
                                {"<|im_end|>", true},    {"<think>", false},
                                {"</think>", false},     {"<|fim_prefix|>", false}};
  nlohmann::json added_json = nlohmann::json::array();
  for (const auto& a : added_tokens) {
    added_json.push_back({{"id", id++},
                          {"content", a.content},
                          {"single_word", false},
                          {"lstrip", false},
                          {"rstrip", false},
                          {"normalized", false},
                          {"special", a.special}});
  }
  nlohmann::ordered_json tj;
  tj["version"] = "1.0";
  tj["added_tokens"] = added_json;
  tj["normalizer"] = {{"type", "NFC"}};
  tj["pre_tokenizer"] = {{"type", "Sequence"},
                         {"pretokenizers",
                          {{{"type", "Split"},
                            {"pattern", {{"Regex", std::string(text::qwen2_pretokenizer_regex)}}},
                            {"behavior", "Isolated"},
                            {"invert", false}},
                           {{"type", "ByteLevel"},
                            {"add_prefix_space", false},
                            {"trim_offsets", false},
                            {"use_regex", false}}}}};
  tj["model"] = {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", ""},
                 {"end_of_word_suffix", ""},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"ignore_merges", false},
                 {"vocab", vocab},
                 {"merges", merge_list}};
  write_text(dir / "tokenizer.json", tj.dump());
  nlohmann::ordered_json tc;
  tc["add_bos_token"] = false;
  tc["add_prefix_space"] = false;
  tc["bos_token"] = nullptr;
  tc["chat_template"] = std::string(text::qwen3_chat_template);
  tc["eos_token"] = "<|im_end|>";
  tc["pad_token"] = "<|endoftext|>";
  tc["unk_token"] = nullptr;
  write_text(dir / "tokenizer_config.json", tc.dump(2));
}

}  // namespace detail

// The HF tensors of `s` in the order transformers saves them: (name, torch shape, mean, stddev).
struct hf_tensor_spec {
  std::string name;
  std::vector<uint64_t> shape;
  float mean, stddev;
};
inline std::vector<hf_tensor_spec> hf_tensor_specs(const hf_checkpoint_spec& s) {
  std::vector<hf_tensor_spec> t;
  const uint64_t q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  t.push_back({"model.embed_tokens.weight", {s.vocab, s.hidden}, 0.0f, 1.0f});
  for (uint64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {s.hidden}, 1.0f, 0.1f});
    t.push_back({p + "mlp.down_proj.weight", {s.hidden, s.ffn}, 0.0f, 0.05f});
    t.push_back({p + "mlp.gate_proj.weight", {s.ffn, s.hidden}, 0.0f, 0.05f});
    t.push_back({p + "mlp.up_proj.weight", {s.ffn, s.hidden}, 0.0f, 0.05f});
    t.push_back({p + "post_attention_layernorm.weight", {s.hidden}, 1.0f, 0.1f});
    if (s.qwen2()) {
      t.push_back({p + "self_attn.k_proj.bias", {kv}, 0.0f, 0.1f});
    }
    t.push_back({p + "self_attn.k_proj.weight", {kv, s.hidden}, 0.0f, 0.05f});
    if (!s.qwen2()) t.push_back({p + "self_attn.k_norm.weight", {s.head_dim}, 1.0f, 0.1f});
    t.push_back({p + "self_attn.o_proj.weight", {s.hidden, q}, 0.0f, 0.05f});
    if (s.qwen2()) t.push_back({p + "self_attn.q_proj.bias", {q}, 0.0f, 0.1f});
    t.push_back({p + "self_attn.q_proj.weight", {q, s.hidden}, 0.0f, 0.05f});
    if (!s.qwen2()) t.push_back({p + "self_attn.q_norm.weight", {s.head_dim}, 1.0f, 0.1f});
    if (s.qwen2()) t.push_back({p + "self_attn.v_proj.bias", {kv}, 0.0f, 0.1f});
    t.push_back({p + "self_attn.v_proj.weight", {kv, s.hidden}, 0.0f, 0.05f});
  }
  t.push_back({"model.norm.weight", {s.hidden}, 1.0f, 0.1f});
  if (!s.tied) t.push_back({"lm_head.weight", {s.vocab, s.hidden}, 0.0f, 0.05f});
  return t;
}

inline void write_hf_checkpoint(const std::filesystem::path& dir, const hf_checkpoint_spec& s) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  nlohmann::ordered_json c;
  c["architectures"] = {s.architecture};
  c["attention_dropout"] = 0.0;
  c["bos_token_id"] = nullptr;
  c["eos_token_id"] = nullptr;
  c["hidden_act"] = "silu";
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.ffn;
  c["max_position_embeddings"] = s.context;
  c["model_type"] = s.qwen2() ? "qwen2" : "qwen3";
  c["num_attention_heads"] = s.heads;
  c["num_hidden_layers"] = s.layers;
  c["num_key_value_heads"] = s.kv_heads;
  if (!s.qwen2()) c["head_dim"] = s.head_dim;
  c["rms_norm_eps"] = s.rms_eps;
  c["rope_scaling"] = nullptr;
  c["rope_theta"] = s.rope_theta;
  c["tie_word_embeddings"] = s.tied;
  c["torch_dtype"] = s.dtype == convert::st_dtype::bf16  ? "bfloat16"
                     : s.dtype == convert::st_dtype::f16 ? "float16"
                                                         : "float32";
  c["use_cache"] = true;
  c["use_sliding_window"] = false;
  c["vocab_size"] = s.vocab;

  if (s.tokenizer_from.empty()) {
    detail::write_synthetic_tokenizer(dir);
  } else {
    fs::copy_file(s.tokenizer_from / "tokenizer.json", dir / "tokenizer.json",
                  fs::copy_options::overwrite_existing);
    if (fs::exists(s.tokenizer_from / "tokenizer_config.json"))
      fs::copy_file(s.tokenizer_from / "tokenizer_config.json", dir / "tokenizer_config.json",
                    fs::copy_options::overwrite_existing);
  }
  // config.json's bos/eos ids as Qwen's: <|endoftext|> and <|im_end|>.
  {
    const auto v = text::read_hf_tokenizer(dir / "tokenizer.json");
    for (size_t id = 0; id < v.tokens.size(); ++id) {
      if (v.tokens[id] == "<|endoftext|>") c["bos_token_id"] = id;
      if (v.tokens[id] == "<|im_end|>") c["eos_token_id"] = id;
    }
  }
  detail::write_text(dir / "config.json", c.dump(2));

  const auto tensors = hf_tensor_specs(s);
  const unsigned n = std::max(1u, s.shards);
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t total = 0;
  for (unsigned k = 0; k < n; ++k) {
    convert::safetensors_writer w;
    w.set_metadata("format", "pt");
    const size_t b = tensors.size() * k / n, e = tensors.size() * (k + 1) / n;
    char name[64];
    std::snprintf(name, sizeof name, "model-%05u-of-%05u.safetensors", k + 1, n);
    const std::string file = n == 1 ? "model.safetensors" : name;
    for (size_t i = b; i < e; ++i) {
      const hf_tensor_spec t = tensors[i];
      uint64_t count = 1;
      for (auto d : t.shape) count *= d;
      total += count * convert::st_dtype_size(s.dtype);
      w.add_lazy(t.name, s.dtype, t.shape, [t, count, &s] {
        return detail::random_values(t.name, s.seed, count, t.mean, t.stddev, s.dtype);
      });
      weight_map[t.name] = file;
    }
    w.write(dir / file);
  }
  if (n > 1) {
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = weight_map;
    detail::write_text(dir / "model.safetensors.index.json", index.dump(2));
  }
}

// The HF module path and (out, in) shape of each LoRA target of layer l.
inline std::vector<std::tuple<std::string, uint64_t, uint64_t>> lora_targets(
    const hf_checkpoint_spec& s, const peft_spec& p, uint64_t l) {
  const uint64_t q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  const std::vector<std::tuple<std::string, std::string, uint64_t, uint64_t>> all = {
      {"q_proj", "self_attn.q_proj", q, s.hidden},     {"k_proj", "self_attn.k_proj", kv, s.hidden},
      {"v_proj", "self_attn.v_proj", kv, s.hidden},    {"o_proj", "self_attn.o_proj", s.hidden, q},
      {"gate_proj", "mlp.gate_proj", s.ffn, s.hidden}, {"up_proj", "mlp.up_proj", s.ffn, s.hidden},
      {"down_proj", "mlp.down_proj", s.hidden, s.ffn}};
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> out;
  for (const auto& [short_name, path, o, i] : all)
    if (std::find(p.target_modules.begin(), p.target_modules.end(), short_name) !=
        p.target_modules.end())
      out.emplace_back("model.layers." + std::to_string(l) + "." + path, o, i);
  return out;
}

// adapter_config.json + adapter_model.safetensors as PEFT saves them (LoRA A is [r, in], B is
// [out, r]; names "base_model.model.<module>.lora_A.weight").
inline void write_peft_adapter(const std::filesystem::path& dir, const hf_checkpoint_spec& s,
                               const peft_spec& p) {
  std::filesystem::create_directories(dir);
  nlohmann::ordered_json c;
  c["alpha_pattern"] = nlohmann::json::object();
  c["base_model_name_or_path"] = "random-qwen";
  c["bias"] = p.bias;
  c["fan_in_fan_out"] = p.fan_in_fan_out;
  c["inference_mode"] = true;
  c["init_lora_weights"] = true;
  c["lora_alpha"] = p.alpha;
  c["lora_dropout"] = 0.0;
  c["peft_type"] = "LORA";
  c["r"] = p.r;
  c["rank_pattern"] = nlohmann::json::object();
  c["target_modules"] = p.target_modules;
  c["task_type"] = "CAUSAL_LM";
  c["use_dora"] = p.use_dora;
  c["use_rslora"] = p.use_rslora;
  detail::write_text(dir / "adapter_config.json", c.dump(2));
  convert::safetensors_writer w;
  w.set_metadata("format", "pt");
  for (uint64_t l = 0; l < s.layers; ++l) {
    if (!p.layers.empty() && std::find(p.layers.begin(), p.layers.end(), l) == p.layers.end())
      continue;
    for (const auto& [module, out, in] : lora_targets(s, p, l)) {
      const std::string base = "base_model.model." + module;
      w.add(base + ".lora_A.weight", p.dtype, {p.r, in},
            detail::random_values(base + ".lora_A", p.seed, p.r * in, 0.0f, 0.1f, p.dtype));
      w.add(base + ".lora_B.weight", p.dtype, {out, p.r},
            detail::random_values(base + ".lora_B", p.seed, out * p.r, 0.0f, 0.1f, p.dtype));
    }
  }
  w.write(dir / "adapter_model.safetensors");
}

}  // namespace edgecloud::testing
