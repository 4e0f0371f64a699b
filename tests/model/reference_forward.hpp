// SPDX-License-Identifier: Apache-2.0
// An independent Qwen3/Qwen2 forward pass in double precision, for the model tests.
//
// Deliberately shares no code with the engine: its own FP16/BF16/Q8_0 decoding, its own
// configuration reading, plain loops, full causal attention recomputed for every sequence (no
// KV cache). Only the GGUF container reader (gguf::file) is borrowed to find the tensors.
// Slow (O(n² ) per sequence, all weights expanded to doubles): for tiny models only.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <edgecloud/model/gguf.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace reftest {

inline double half_to_double(uint16_t h) {
  const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(static_cast<double>(mant), -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(1.0 + mant / 1024.0, exp - 15);
  return sign ? -v : v;
}

inline double bf16_to_double(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// All elements of a tensor as doubles (row-major, dims[0] fastest).
inline std::vector<double> expand(const edgecloud::gguf::tensor_info& t) {
  uint64_t n = 1;
  for (auto d : t.dims) n *= d;
  std::vector<double> out(n);
  const auto* p = reinterpret_cast<const unsigned char*>(t.data);
  switch (t.type) {
    case 0:  // F32
      for (uint64_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        out[i] = f;
      }
      break;
    case 1:   // F16
    case 30:  // BF16
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t.type == 1 ? half_to_double(h) : bf16_to_double(h);
      }
      break;
    case 8:  // Q8_0: blocks of {fp16 scale d, 32 x int8}, value = d * q
      for (uint64_t b = 0; b < n / 32; ++b) {
        const unsigned char* blk = p + 34 * b;
        uint16_t d;
        std::memcpy(&d, blk, 2);
        const double scale = half_to_double(d);
        for (int j = 0; j < 32; ++j) out[b * 32 + j] = scale * static_cast<int8_t>(blk[2 + j]);
      }
      break;
    default:
      throw std::runtime_error("reference: unsupported tensor type " + std::to_string(t.type));
  }
  return out;
}

struct ref_layer {
  std::vector<double> attn_norm, wq, wk, wv, wo, q_norm, k_norm, bq, bk, bv, ffn_norm, gate, up,
      down;
};

struct ref_model {
  size_t vocab = 0, embd = 0, layers = 0, ff = 0, heads = 0, kv_heads = 0, head_dim = 0;
  double base = 1e6, eps = 1e-6;
  bool qwen2 = false;
  std::vector<double> token_embd, output, output_norm;
  std::vector<ref_layer> blk;

  // Empty: the caller fills the fields (the converter tests build it from Hugging Face tensors;
  // HF's [out, in] row-major matrices are these W[r * cols + c] as they are).
  ref_model() = default;

  explicit ref_model(const edgecloud::gguf::file& f) {
    const std::string arch(*f.get_string("general.architecture"));
    qwen2 = arch == "qwen2";
    auto u = [&](const std::string& k) { return static_cast<size_t>(*f.get_uint(arch + "." + k)); };
    layers = u("block_count");
    embd = u("embedding_length");
    ff = u("feed_forward_length");
    heads = u("attention.head_count");
    kv_heads = f.has(arch + ".attention.head_count_kv") ? u("attention.head_count_kv") : heads;
    head_dim = f.has(arch + ".attention.key_length") ? u("attention.key_length") : embd / heads;
    base = f.get_float(arch + ".rope.freq_base").value_or(qwen2 ? 1e4 : 1e6);
    eps = f.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-6);
    auto get = [&](const std::string& name) { return expand(*f.find_tensor(name)); };
    token_embd = get("token_embd.weight");
    vocab = token_embd.size() / embd;
    output = f.find_tensor("output.weight") ? get("output.weight") : token_embd;
    output_norm = get("output_norm.weight");
    blk.resize(layers);
    for (size_t l = 0; l < layers; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      ref_layer& b = blk[l];
      b.attn_norm = get(p + "attn_norm.weight");
      b.wq = get(p + "attn_q.weight");
      b.wk = get(p + "attn_k.weight");
      b.wv = get(p + "attn_v.weight");
      b.wo = get(p + "attn_output.weight");
      if (!qwen2) {
        b.q_norm = get(p + "attn_q_norm.weight");
        b.k_norm = get(p + "attn_k_norm.weight");
      } else {
        b.bq = get(p + "attn_q.bias");
        b.bk = get(p + "attn_k.bias");
        b.bv = get(p + "attn_v.bias");
      }
      b.ffn_norm = get(p + "ffn_norm.weight");
      b.gate = get(p + "ffn_gate.weight");
      b.up = get(p + "ffn_up.weight");
      b.down = get(p + "ffn_down.weight");
    }
  }

  // y = W x, W of `rows` x x.size() stored row-major.
  static std::vector<double> mul(const std::vector<double>& W, const std::vector<double>& x,
                                 size_t rows) {
    std::vector<double> y(rows, 0.0);
    const size_t cols = x.size();
    for (size_t r = 0; r < rows; ++r) {
      double s = 0;
      for (size_t c = 0; c < cols; ++c) s += W[r * cols + c] * x[c];
      y[r] = s;
    }
    return y;
  }

  void rmsnorm(double* x, const double* w, size_t n) const {
    double ss = 0;
    for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (size_t i = 0; i < n; ++i) x[i] = x[i] * inv * w[i];
  }

  // NeoX rotation: pairs (i, i + d/2) rotated by angle pos * base^(-2i/d).
  void rope(double* x, size_t pos) const {
    const size_t half = head_dim / 2;
    for (size_t i = 0; i < half; ++i) {
      const double theta =
          static_cast<double>(pos) * std::pow(base, -2.0 * static_cast<double>(i) / head_dim);
      const double c = std::cos(theta), s = std::sin(theta);
      const double a = x[i], b = x[i + half];
      x[i] = a * c - b * s;
      x[i + half] = a * s + b * c;
    }
  }

  // Logits of every position of `tokens` (one causal pass from position 0).
  std::vector<std::vector<double>> logits(const std::vector<int32_t>& tokens) const {
    const size_t n = tokens.size(), qd = heads * head_dim, kvd = kv_heads * head_dim;
    std::vector<std::vector<double>> x(n);
    for (size_t i = 0; i < n; ++i)
      x[i].assign(token_embd.begin() + static_cast<long>(tokens[i] * embd),
                  token_embd.begin() + static_cast<long>((tokens[i] + 1) * embd));
    for (const ref_layer& b : blk) {
      std::vector<std::vector<double>> q(n), k(n), v(n);
      for (size_t i = 0; i < n; ++i) {
        std::vector<double> h = x[i];
        rmsnorm(h.data(), b.attn_norm.data(), embd);
        q[i] = mul(b.wq, h, qd);
        k[i] = mul(b.wk, h, kvd);
        v[i] = mul(b.wv, h, kvd);
        if (qwen2) {
          for (size_t j = 0; j < qd; ++j) q[i][j] += b.bq[j];
          for (size_t j = 0; j < kvd; ++j) k[i][j] += b.bk[j], v[i][j] += b.bv[j];
        } else {
          for (size_t hh = 0; hh < heads; ++hh)
            rmsnorm(&q[i][hh * head_dim], b.q_norm.data(), head_dim);
          for (size_t hh = 0; hh < kv_heads; ++hh)
            rmsnorm(&k[i][hh * head_dim], b.k_norm.data(), head_dim);
        }
        for (size_t hh = 0; hh < heads; ++hh) rope(&q[i][hh * head_dim], i);
        for (size_t hh = 0; hh < kv_heads; ++hh) rope(&k[i][hh * head_dim], i);
      }
      for (size_t i = 0; i < n; ++i) {
        std::vector<double> att(qd, 0.0);
        for (size_t hh = 0; hh < heads; ++hh) {
          const size_t g = hh / (heads / kv_heads);
          std::vector<double> s(i + 1);
          double mx = -INFINITY;
          for (size_t j = 0; j <= i; ++j) {
            double dot = 0;
            for (size_t d = 0; d < head_dim; ++d)
              dot += q[i][hh * head_dim + d] * k[j][g * head_dim + d];
            s[j] = dot / std::sqrt(static_cast<double>(head_dim));
            mx = std::max(mx, s[j]);
          }
          double sum = 0;
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (size_t j = 0; j <= i; ++j)
            for (size_t d = 0; d < head_dim; ++d)
              att[hh * head_dim + d] += s[j] / sum * v[j][g * head_dim + d];
        }
        const std::vector<double> o = mul(b.wo, att, embd);
        for (size_t e = 0; e < embd; ++e) x[i][e] += o[e];
        std::vector<double> h = x[i];
        rmsnorm(h.data(), b.ffn_norm.data(), embd);
        std::vector<double> g = mul(b.gate, h, ff), u = mul(b.up, h, ff);
        for (size_t j = 0; j < ff; ++j) g[j] = g[j] / (1.0 + std::exp(-g[j])) * u[j];
        const std::vector<double> d = mul(b.down, g, embd);
        for (size_t e = 0; e < embd; ++e) x[i][e] += d[e];
      }
    }
    std::vector<std::vector<double>> out(n);
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> h = x[i];
      rmsnorm(h.data(), output_norm.data(), embd);
      out[i] = mul(output, h, vocab);
    }
    return out;
  }
};

}  // namespace reftest
