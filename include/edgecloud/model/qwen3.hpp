// SPDX-License-Identifier: Apache-2.0
// The Qwen3 (and Qwen2) dense decoder: configuration and weights, read from a GGUF file.
//
// Ownership: `qwen3` owns the gguf::file (the read-only memory mapping). Every weight is a view
// into that mapping, used in place: no copy, no dequantized copy, so loading costs only the
// page faults of the first token and the resident size is the file plus activations. Weight
// views live as long as the model; sessions borrow the model and must not outlive it. A derived
// model (the derive constructor: model/lora_merge.hpp's merged LoRA) shares the mapping through
// a shared_ptr and also owns the storage its replaced weights point into.
//
// The maths (Qwen3; Qwen2 differs only where noted), for one token at position p:
//   x = token_embd[token]
//   per layer:  h = rmsnorm(x) * attn_norm                 rmsnorm(x) = x / sqrt(mean(x²) + eps)
//               q = Wq h, k = Wk h, v = Wv h                (Qwen2: + bq, bk, bv)
//               q, k: per head, rmsnorm(.) * attn_q_norm / attn_k_norm   (Qwen3 only)
//               q, k: NeoX RoPE, pairs (i, i + d/2) rotated by p * theta^(-2i/d)
//               a_h = softmax(q_h · K_g / sqrt(d)) V_g      g = h / (n_head / n_head_kv)  (GQA)
//               x += Wo a
//               h = rmsnorm(x) * ffn_norm
//               x += Wdown (silu(Wgate h) * (Wup h))
//   logits = Woutput (rmsnorm(x) * output_norm)            Woutput = token_embd when tied
//
// GGUF keys read (prefix = general.architecture, "qwen3" or "qwen2"): block_count,
// embedding_length, feed_forward_length, attention.head_count, attention.head_count_kv
// (default head_count), attention.key_length / value_length (default embedding/heads),
// rope.freq_base (default 1e6 / 1e4), attention.layer_norm_rms_epsilon (default 1e-6),
// context_length (default 4096). Matrices may be F32, F16, BF16 or Q8_0; norms and biases F32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/gguf.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace edgecloud::model {

struct qwen3_config {
  std::string architecture = "qwen3";  // "qwen3" or "qwen2"
  size_t n_vocab = 0;
  size_t n_embd = 0;  // hidden size
  size_t n_layers = 0;
  size_t n_ff = 0;         // FFN inner size
  size_t n_head = 0;       // query heads
  size_t n_head_kv = 0;    // key/value heads (GQA: n_head % n_head_kv == 0)
  size_t head_dim = 0;     // key_length == value_length
  size_t n_ctx_train = 0;  // context_length
  float rope_freq_base = 1e6f;
  float rms_eps = 1e-6f;
  bool qk_norm = true;       // Qwen3: per-head RMSNorm of q and k
  bool qkv_bias = false;     // Qwen2: biases on q, k, v
  bool tied_output = false;  // no output.weight: logits use token_embd

  size_t q_dim() const noexcept { return n_head * head_dim; }
  size_t kv_dim() const noexcept { return n_head_kv * head_dim; }

  // Reads and checks the configuration; throws model_error naming the bad or missing key.
  static qwen3_config from_gguf(const gguf::file& file);
};

// A row-major weight matrix inside the mapping: `rows` rows of `cols` elements of `type`.
struct weight_view {
  kernels::dtype type = kernels::dtype::f32;
  const std::byte* data = nullptr;
  size_t rows = 0, cols = 0;
  size_t row_bytes = 0;
  const std::byte* row(size_t r) const noexcept { return data + r * row_bytes; }
  bool quantized() const noexcept { return type == kernels::dtype::q8_0; }
};

struct qwen3_layer {
  const float* attn_norm = nullptr;  // n_embd
  weight_view wq, wk, wv, wo;        // q_dim x n_embd, kv_dim x n_embd (x2), n_embd x q_dim
  const float* q_norm = nullptr;     // head_dim (Qwen3)
  const float* k_norm = nullptr;     // head_dim (Qwen3)
  const float* bq = nullptr;         // q_dim (Qwen2)
  const float* bk = nullptr;         // kv_dim (Qwen2)
  const float* bv = nullptr;         // kv_dim (Qwen2)
  const float* ffn_norm = nullptr;   // n_embd
  weight_view gate, up, down;        // n_ff x n_embd (x2), n_embd x n_ff
};

class qwen3 {
 public:
  // Maps and validates `path`; throws model_error on anything malformed or unsupported.
  // `prefault`: see prefault().
  static qwen3 load(const std::filesystem::path& path, bool prefault = false) {
    return load(path, file_access::map, prefault);
  }
  // `access`: file_access::read copies the file into private memory instead of mapping it
  // (immune to the file changing afterwards; see model/mapped_file.hpp).
  static qwen3 load(const std::filesystem::path& path, file_access access, bool prefault = false) {
    qwen3 model(gguf::file::open(path, access));
    if (prefault) model.prefault();
    return model;
  }

  explicit qwen3(gguf::file file)
      : file_(std::make_shared<gguf::file>(std::move(file))),
        config_(qwen3_config::from_gguf(*file_)) {
    bind_weights();
  }

  // A model sharing `base`'s mapping whose layers are `layers`: views into base's mapping or into
  // `storage`, which the new model keeps alive. Shapes and types must be base's (the caller's
  // contract: model/lora_merge.hpp builds these).
  qwen3(const qwen3& base, std::vector<qwen3_layer> layers, std::shared_ptr<const void> storage)
      : file_(base.file_), storage_(std::move(storage)), config_(base.config_),
        layers_(std::move(layers)), token_embd_(base.token_embd_), output_(base.output_),
        output_norm_(base.output_norm_), any_quantized_(base.any_quantized_),
        weight_bytes_(base.weight_bytes_) {
    if (layers_.size() != config_.n_layers)
      throw config_error("derived model: " + std::to_string(layers_.size()) + " layers, base has " +
                         std::to_string(config_.n_layers));
  }
  qwen3(qwen3&&) noexcept = default;
  qwen3& operator=(qwen3&&) noexcept = default;

  const qwen3_config& config() const noexcept { return config_; }
  const qwen3_layer& layer(size_t i) const noexcept { return layers_[i]; }
  const weight_view& token_embd() const noexcept { return token_embd_; }
  // == token_embd() when the output is tied
  const weight_view& output() const noexcept { return output_; }
  const float* output_norm() const noexcept { return output_norm_; }
  const gguf::file& file() const noexcept { return *file_; }
  // Throws model_error naming the file when it changed under the mapping (gguf::file::
  // check_intact); every session's prefill calls it.
  void check_intact() const { file_->check_intact(); }
  bool faulted() const noexcept { return file_->faulted(); }
  // True when some product needs activations quantized to Q8_0.
  bool any_quantized() const noexcept { return any_quantized_; }
  // Bytes of all weights used (what one token streams from memory, roughly).
  size_t weight_bytes() const noexcept { return weight_bytes_; }

  // Best effort: maps every weight page now in one system call (Linux MADV_POPULATE_READ)
  // instead of page faults during the first token. Measured on Qwen3-0.6B Q8_0 (cached file):
  // same total CPU (~60 ms populate + ~68 ms first token vs ~125 ms faulting first token), so
  // it only moves the cost: call it from a background thread at app start to make the first
  // request fast. Ignored where unsupported (Linux < 5.14, other systems, in-memory files).
  void prefault() const noexcept {
#if defined(__linux__)
    const std::byte* lo = nullptr;
    const std::byte* hi = nullptr;
    for (const gguf::tensor_info& t : file_->tensors()) {
      if (!lo || t.data < lo) lo = t.data;
      if (!hi || t.data + t.n_bytes > hi) hi = t.data + t.n_bytes;
    }
    if (!lo || hi <= lo) return;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(lo) / page * page;
    const uintptr_t end = reinterpret_cast<uintptr_t>(hi);
    constexpr int populate_read = 22;  // MADV_POPULATE_READ, Linux 5.14
    (void)::madvise(reinterpret_cast<void*>(begin), end - begin, populate_read);
#endif
  }

 private:
  weight_view matrix(const std::string& name, size_t rows, size_t cols) {
    const gguf::tensor_info& t = file_->require_tensor(
        name, {uint64_t{cols}, uint64_t{rows}},
        {static_cast<uint32_t>(kernels::dtype::f32), static_cast<uint32_t>(kernels::dtype::f16),
         static_cast<uint32_t>(kernels::dtype::bf16), static_cast<uint32_t>(kernels::dtype::q8_0)});
    weight_view w;
    w.type = static_cast<kernels::dtype>(t.type);
    if (w.type == kernels::dtype::q8_0 && cols % 32 != 0)
      throw model_error("tensor " + name + ": Q8_0 needs a multiple of 32 columns, has " +
                        std::to_string(cols));
    w.data = t.data;
    w.rows = rows;
    w.cols = cols;
    w.row_bytes = kernels::row_bytes(w.type, cols);
    if (t.n_bytes < w.row_bytes * rows)
      throw model_error("tensor " + name + ": data is " + std::to_string(t.n_bytes) +
                        " bytes, expected " + std::to_string(w.row_bytes * rows));
    if (w.quantized()) any_quantized_ = true;
    weight_bytes_ += w.row_bytes * rows;
    return w;
  }

  const float* vector(const std::string& name, size_t n) {
    const gguf::tensor_info& t =
        file_->require_tensor(name, {uint64_t{n}}, {static_cast<uint32_t>(kernels::dtype::f32)});
    if (t.n_bytes < n * sizeof(float))
      throw model_error("tensor " + name + ": data is shorter than " + std::to_string(n) +
                        " floats");
    if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0)
      throw model_error("tensor " + name + ": data is not 4-byte aligned");
    weight_bytes_ += n * sizeof(float);
    return reinterpret_cast<const float*>(t.data);
  }

  void bind_weights() {
    const qwen3_config& c = config_;
    token_embd_ = matrix("token_embd.weight", c.n_vocab, c.n_embd);
    output_norm_ = vector("output_norm.weight", c.n_embd);
    if (c.tied_output) {
      output_ = token_embd_;
    } else {
      output_ = matrix("output.weight", c.n_vocab, c.n_embd);
    }
    layers_.resize(c.n_layers);
    for (size_t i = 0; i < c.n_layers; ++i) {
      const std::string p = "blk." + std::to_string(i) + ".";
      qwen3_layer& l = layers_[i];
      l.attn_norm = vector(p + "attn_norm.weight", c.n_embd);
      l.wq = matrix(p + "attn_q.weight", c.q_dim(), c.n_embd);
      l.wk = matrix(p + "attn_k.weight", c.kv_dim(), c.n_embd);
      l.wv = matrix(p + "attn_v.weight", c.kv_dim(), c.n_embd);
      l.wo = matrix(p + "attn_output.weight", c.n_embd, c.q_dim());
      if (c.qk_norm) {
        l.q_norm = vector(p + "attn_q_norm.weight", c.head_dim);
        l.k_norm = vector(p + "attn_k_norm.weight", c.head_dim);
      }
      if (c.qkv_bias) {
        l.bq = vector(p + "attn_q.bias", c.q_dim());
        l.bk = vector(p + "attn_k.bias", c.kv_dim());
        l.bv = vector(p + "attn_v.bias", c.kv_dim());
      }
      l.ffn_norm = vector(p + "ffn_norm.weight", c.n_embd);
      l.gate = matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd);
      l.up = matrix(p + "ffn_up.weight", c.n_ff, c.n_embd);
      l.down = matrix(p + "ffn_down.weight", c.n_embd, c.n_ff);
    }
  }

  std::shared_ptr<const gguf::file> file_;  // stable address: weight views point into its mapping
  std::shared_ptr<const void> storage_;     // derived models: their own weights' bytes
  qwen3_config config_;
  std::vector<qwen3_layer> layers_;
  weight_view token_embd_, output_;
  const float* output_norm_ = nullptr;
  bool any_quantized_ = false;
  size_t weight_bytes_ = 0;
};

inline qwen3_config qwen3_config::from_gguf(const gguf::file& file) {
  qwen3_config c;
  const auto arch = file.get_string("general.architecture");
  if (!arch) throw model_error("GGUF file has no general.architecture key");
  if (*arch != "qwen3" && *arch != "qwen2")
    throw model_error("unsupported architecture '" + std::string(*arch) +
                      "': this engine runs qwen3 and qwen2 models");
  c.architecture = std::string(*arch);
  const std::string pre = c.architecture + ".";
  // Bounds keep every product below (and every size_t multiplication) far from overflow and
  // refuse hostile files before any allocation is sized from them.
  constexpr uint64_t max_dim = uint64_t{1} << 20;
  auto required = [&](const char* key) -> size_t {
    auto v = file.get_uint(pre + key);
    if (!v) throw model_error("GGUF file lacks " + pre + key);
    if (*v == 0 || *v > max_dim)
      throw model_error(pre + key + " = " + std::to_string(*v) + " is out of range [1, 2^20]");
    return static_cast<size_t>(*v);
  };
  auto optional = [&](const char* key, size_t fallback) -> size_t {
    if (!file.has(pre + key)) return fallback;
    return required(key);
  };
  c.n_layers = required("block_count");
  c.n_embd = required("embedding_length");
  c.n_ff = required("feed_forward_length");
  c.n_head = required("attention.head_count");
  c.n_head_kv = optional("attention.head_count_kv", c.n_head);
  if (c.n_embd % c.n_head != 0 && !file.has(pre + "attention.key_length"))
    throw model_error(pre + "embedding_length is not a multiple of head_count");
  const size_t key_length = optional("attention.key_length", c.n_embd / c.n_head);
  const size_t value_length = optional("attention.value_length", key_length);
  if (key_length != value_length)
    throw model_error("key_length " + std::to_string(key_length) + " != value_length " +
                      std::to_string(value_length) + " is not supported");
  c.head_dim = key_length;
  if (c.head_dim % 2 != 0)
    throw model_error("head dimension " + std::to_string(c.head_dim) + " is odd (RoPE pairs)");
  if (c.n_head % c.n_head_kv != 0)
    throw model_error("head_count " + std::to_string(c.n_head) +
                      " is not a multiple of head_count_kv " + std::to_string(c.n_head_kv));
  if (c.q_dim() > max_dim) throw model_error("head_count * key_length exceeds 2^20");
  c.n_ctx_train = file.has(pre + "context_length") ? required("context_length") : 4096;
  const bool qwen2 = c.architecture == "qwen2";
  c.rope_freq_base =
      static_cast<float>(file.get_float(pre + "rope.freq_base").value_or(qwen2 ? 1e4 : 1e6));
  c.rms_eps =
      static_cast<float>(file.get_float(pre + "attention.layer_norm_rms_epsilon").value_or(1e-6));
  if (!(c.rope_freq_base > 0.0f) || !(c.rms_eps >= 0.0f))
    throw model_error("rope.freq_base must be > 0 and layer_norm_rms_epsilon >= 0");
  c.qk_norm = !qwen2;
  c.qkv_bias = qwen2;

  const gguf::tensor_info* embd = file.find_tensor("token_embd.weight");
  if (!embd) throw model_error("tensor token_embd.weight is missing");
  if (embd->dims.size() != 2 || embd->dims[1] == 0 || embd->dims[1] > (uint64_t{1} << 24))
    throw model_error("tensor token_embd.weight: expected 2 dims with 1..2^24 rows");
  c.n_vocab = static_cast<size_t>(embd->dims[1]);
  c.tied_output = file.find_tensor("output.weight") == nullptr;
  return c;
}

}  // namespace edgecloud::model
