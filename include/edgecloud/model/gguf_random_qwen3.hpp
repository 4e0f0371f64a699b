// SPDX-License-Identifier: Apache-2.0
// Random-weight Qwen3 models written as GGUF: the engine's test and benchmark subject at any
// shape (`edgecloud make-model`, tests that need a model of another shape).
//
// The file is what llama.cpp's convert_hf_to_gguf.py writes for Qwen3 (architecture "qwen3"):
//   token_embd.weight            {hidden, vocab}        embeddings ~ N(0, 1)
//   output_norm.weight           {hidden}               RMSNorm weights ~ 1 + N(0, 0.1), F32
//   output.weight                {hidden, vocab}        only when the output is not tied
//   blk.N.attn_norm.weight       {hidden}
//   blk.N.attn_q.weight          {hidden, heads*head_dim}            weights ~ N(0, 0.05)
//   blk.N.attn_k.weight          {hidden, kv_heads*head_dim}
//   blk.N.attn_v.weight          {hidden, kv_heads*head_dim}
//   blk.N.attn_q_norm.weight     {head_dim}             (per-head QK RMSNorm of Qwen3)
//   blk.N.attn_k_norm.weight     {head_dim}
//   blk.N.attn_output.weight     {heads*head_dim, hidden}
//   blk.N.ffn_norm.weight        {hidden}
//   blk.N.ffn_gate.weight        {hidden, ffn}
//   blk.N.ffn_up.weight          {hidden, ffn}
//   blk.N.ffn_down.weight        {ffn, hidden}
// (GGUF dims, dims[0] = row length), the same names, shapes, order and distributions as the
// fixture models. Matrices are stored in the chosen type (F32, F16, BF16 or Q8_0), norms in F32.
//
// Weights are streamed: each tensor is generated block by block (threads fill blocks in
// parallel) while the file is written, so memory stays at a few blocks whatever the model size.
// Every block has its own generator seeded from (seed, tensor name, block index): the output is
// a pure function of shape, type and seed, whatever the thread count. Normal samples come from a
// 65,536-entry inverse-CDF table (4 samples per 64-bit draw): exact to the table's resolution and
// several times faster than Box-Muller, which is what lets a 0.6B model be written in seconds.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/gguf_types.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace edgecloud::gguf {

struct qwen3_shape {
  std::string name = "random-qwen3";
  uint32_t hidden = 1024;
  uint32_t ffn = 3072;
  uint32_t layers = 28;
  uint32_t heads = 16;
  uint32_t kv_heads = 8;
  uint32_t head_dim = 128;
  uint32_t vocab = 151936;
  uint32_t context = 40960;
  float rope_base = 1e6f;
  float rms_eps = 1e-6f;
  bool tied_output = true;

  // Qwen/Qwen3-0.6B's config.json.
  static qwen3_shape qwen3_0_6b() { return {}; }
  // The fixtures' tiny shape (hidden 64, FFN 128, 2 layers, 4/2 heads of 16) with the full
  // Qwen vocabulary, so the real or the synthetic tokenizer works with it.
  static qwen3_shape tiny(uint32_t vocab = 151936) {
    qwen3_shape s;
    s.name = "random-qwen3-tiny";
    s.hidden = 64;
    s.ffn = 128;
    s.layers = 2;
    s.heads = 4;
    s.kv_heads = 2;
    s.head_dim = 16;
    s.vocab = vocab;
    s.context = 4096;
    return s;
  }
};

namespace detail {

inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna): fast, 256-bit state, seeded through splitmix64.
class xoshiro256 {
 public:
  explicit xoshiro256(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

// Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9).
inline double inverse_normal_cdf(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  if (p < 0.02425) {
    double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - 0.02425) return -inverse_normal_cdf(1 - p);
  double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// N(0, 1) at the midpoints of 65,536 equal-probability cells.
inline const std::array<float, 65536>& normal_table() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<float, 65536>>();
    for (size_t i = 0; i < t->size(); ++i)
      (*t)[i] = static_cast<float>(inverse_normal_cdf((static_cast<double>(i) + 0.5) / 65536.0));
    return t;
  }();
  return *table;
}

// Fills x[0..n) with mean + stddev * N(0, 1).
inline void fill_normal(xoshiro256& rng, float* x, size_t n, float mean, float stddev) {
  const auto& t = normal_table();
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint64_t r = rng.next();
    for (int k = 0; k < 4; ++k) x[i + k] = mean + stddev * t[(r >> (16 * k)) & 0xffff];
  }
  if (i < n) {
    uint64_t r = rng.next();
    for (int k = 0; i < n; ++i, ++k) x[i] = mean + stddev * t[(r >> (16 * k)) & 0xffff];
  }
}

inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// Streams rows x cols of mean + stddev * N(0,1) values encoded as `type`. Rows are generated in
// blocks of about 2^20 values, each from its own generator seeded by (seed, name, block index),
// so the bytes do not depend on how many threads share the blocks.
inline writer::producer random_tensor(std::string name, uint64_t seed, uint64_t cols, uint64_t rows,
                                      uint32_t type, float mean, float stddev, unsigned threads) {
  return [=](byte_sink& out) {
    const uint64_t base = seed ^ fnv1a(name);
    const uint64_t row_bytes = *tensor_bytes(type, std::vector<uint64_t>{cols});
    const uint64_t rows_per_block = std::max<uint64_t>(1, (uint64_t{1} << 20) / cols);
    const uint64_t n_blocks = (rows + rows_per_block - 1) / rows_per_block;
    const unsigned n_workers =
        static_cast<unsigned>(std::clamp<uint64_t>(threads, 1, std::max<uint64_t>(n_blocks, 1)));
    std::vector<std::vector<float>> x(n_workers);
    std::vector<std::vector<std::byte>> enc(n_workers);
    auto make_block = [&](uint64_t block, unsigned worker) {
      const uint64_t r0 = block * rows_per_block, nr = std::min(rows_per_block, rows - r0);
      const size_t n = static_cast<size_t>(nr * cols);
      auto& xs = x[worker];
      auto& bytes = enc[worker];
      xs.resize(n);
      bytes.resize(static_cast<size_t>(nr * row_bytes));
      xoshiro256 rng(base + block * 0x9E3779B97F4A7C15ull);
      fill_normal(rng, xs.data(), n, mean, stddev);
      switch (type) {
        case type_f32:
          std::memcpy(bytes.data(), xs.data(), n * 4);
          break;
        case type_f16:
          for (size_t i = 0; i < n; ++i) {
            uint16_t h = kernels::fp32_to_fp16(xs[i]);
            std::memcpy(bytes.data() + 2 * i, &h, 2);
          }
          break;
        case type_bf16:
          for (size_t i = 0; i < n; ++i) {
            uint16_t h = kernels::fp32_to_bf16(xs[i]);
            std::memcpy(bytes.data() + 2 * i, &h, 2);
          }
          break;
        case type_q8_0:
          // GGML's Q8_0 (d = max|x|/127, q = round(x/d)), the engine's own encoder; rows of
          // 34-byte blocks keep block_q8_0's 2-byte alignment inside the vector.
          kernels::quantize_row_q8_0(xs.data(), reinterpret_cast<kernels::block_q8_0*>(bytes.data()), n);
          break;
        default:
          break;  // rejected by file_type_of before any tensor is added
      }
    };
    for (uint64_t b0 = 0; b0 < n_blocks; b0 += n_workers) {
      const unsigned k = static_cast<unsigned>(std::min<uint64_t>(n_workers, n_blocks - b0));
      std::vector<std::thread> pool;
      for (unsigned w = 1; w < k; ++w) pool.emplace_back(make_block, b0 + w, w);
      make_block(b0, 0);
      for (auto& t : pool) t.join();
      for (unsigned w = 0; w < k; ++w) out.write(enc[w].data(), enc[w].size());
    }
  };
}

}  // namespace detail

// GGUF `general.file_type` (llama_ftype) for a model whose matrices are `type`.
inline uint32_t file_type_of(uint32_t type) {
  switch (type) {
    case type_f32:
      return 0;  // ALL_F32
    case type_f16:
      return 1;  // MOSTLY_F16
    case type_q8_0:
      return 7;  // MOSTLY_Q8_0
    case type_bf16:
      return 32;  // MOSTLY_BF16
    default:
      throw config_error("random model: matrices must be F32, F16, BF16 or Q8_0");
  }
}

// Adds the `general.*` and `qwen3.*` metadata and every tensor (streamed) of a random-weight
// Qwen3 model to `w`. Tokenizer metadata (`tokenizer.ggml.*`) is the caller's to add.
// `threads` generate weight blocks in parallel (0: one per hardware thread); the output does not
// depend on it.
inline void add_random_qwen3(writer& w, const qwen3_shape& s, uint32_t matrix_type, uint64_t seed,
                             unsigned threads = 0) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const uint32_t ftype = file_type_of(matrix_type);
  if (s.hidden % 32 || s.ffn % 32 || (s.heads * s.head_dim) % 32)
    throw config_error("random model: hidden, FFN and heads*head_dim must be multiples of 32");
  if (!s.hidden || !s.ffn || !s.layers || !s.heads || !s.kv_heads || !s.head_dim || !s.vocab ||
      s.heads % s.kv_heads || s.head_dim % 2)
    throw config_error(
        "random model: invalid shape (zero size, heads not a multiple of kv "
        "heads, or odd head dim)");
  w.add_string("general.architecture", "qwen3");
  w.add_string("general.name", s.name);
  w.set_alignment(w.alignment());  // recorded as general.alignment, like the fixtures
  w.add_u32("qwen3.context_length", s.context);
  w.add_u32("qwen3.embedding_length", s.hidden);
  w.add_u32("qwen3.block_count", s.layers);
  w.add_u32("qwen3.feed_forward_length", s.ffn);
  w.add_u32("qwen3.attention.head_count", s.heads);
  w.add_u32("qwen3.attention.head_count_kv", s.kv_heads);
  w.add_u32("qwen3.attention.key_length", s.head_dim);
  w.add_u32("qwen3.attention.value_length", s.head_dim);
  w.add_f32("qwen3.rope.freq_base", s.rope_base);
  w.add_f32("qwen3.attention.layer_norm_rms_epsilon", s.rms_eps);
  w.add_u32("general.file_type", ftype);

  const uint64_t h = s.hidden, q = uint64_t{s.heads} * s.head_dim,
                 kv = uint64_t{s.kv_heads} * s.head_dim;
  auto matrix = [&](const std::string& name, uint64_t cols, uint64_t rows, float stddev) {
    w.add_tensor(name, {cols, rows}, matrix_type,
                 detail::random_tensor(name, seed, cols, rows, matrix_type, 0.0f, stddev, threads));
  };
  auto norm = [&](const std::string& name, uint64_t n) {
    w.add_tensor(name, {n}, type_f32,
                 detail::random_tensor(name, seed, n, 1, type_f32, 1.0f, 0.1f, 1));
  };
  matrix("token_embd.weight", h, s.vocab, 1.0f);
  norm("output_norm.weight", h);
  if (!s.tied_output) matrix("output.weight", h, s.vocab, 0.05f);
  for (uint32_t l = 0; l < s.layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    norm(b + "attn_norm.weight", h);
    matrix(b + "attn_q.weight", h, q, 0.05f);
    matrix(b + "attn_k.weight", h, kv, 0.05f);
    matrix(b + "attn_v.weight", h, kv, 0.05f);
    norm(b + "attn_q_norm.weight", s.head_dim);
    norm(b + "attn_k_norm.weight", s.head_dim);
    matrix(b + "attn_output.weight", q, h, 0.05f);
    norm(b + "ffn_norm.weight", h);
    matrix(b + "ffn_gate.weight", h, s.ffn, 0.05f);
    matrix(b + "ffn_up.weight", h, s.ffn, 0.05f);
    matrix(b + "ffn_down.weight", s.ffn, h, 0.05f);
  }
}

}  // namespace edgecloud::gguf
