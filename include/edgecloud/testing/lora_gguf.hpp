// SPDX-License-Identifier: Apache-2.0
// Random LoRA adapters written as llama.cpp-format GGUF (model/lora.hpp describes the format):
// the subject of the LoRA tests and of `edgecloud make-lora` (benchmarks, demos).
//
//   auto base = edgecloud::model::qwen3::load("base.gguf");
//   edgecloud::testing::lora_spec spec{.rank = 16, .alpha = 32};
//   edgecloud::testing::write_random_lora("tone.gguf", base.config(), spec);
//
// Values: A ~ N(0, 1/in) (so A x has unit-scale entries for unit-scale x), B ~ N(0, b_std²):
// a trained-looking adapter (PEFT initialises B to 0; after training it is small and dense).
// The generator is std::mt19937_64 with a Box-Muller transform written here, so a (base shape,
// spec) pair gives the same file on every platform.
//
// Ownership: plain functions; the returned writer / bytes own everything.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/gguf_writer.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace edgecloud::testing {

struct lora_spec {
  size_t rank = 8;
  float alpha = 16.0f;  // 0: no adapter.lora.alpha key (then s = user scale)
  // Targets adapted in every listed layer; default: all seven projections.
  std::vector<model::lora_target> targets = {model::lora_target::q,    model::lora_target::k,
                                             model::lora_target::v,    model::lora_target::o,
                                             model::lora_target::gate, model::lora_target::up,
                                             model::lora_target::down};
  std::vector<size_t> layers;  // empty: every layer
  kernels::dtype a_type = kernels::dtype::f32;
  kernels::dtype b_type = kernels::dtype::f32;  // Q8_0 needs rank % 32 == 0
  float b_std = 0.05f;
  uint64_t seed = 1;
};

namespace detail {

// n samples of N(0, stddev²) by Box-Muller on mt19937_64 (portable, unlike std::normal_...).
inline std::vector<float> normal_samples(std::mt19937_64& g, size_t n, double stddev) {
  std::vector<float> out(n);
  constexpr double two_pi = 6.283185307179586;
  for (size_t i = 0; i < n; i += 2) {
    const double u1 = (static_cast<double>(g() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(g() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1)) * stddev;
    out[i] = static_cast<float>(r * std::cos(two_pi * u2));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(two_pi * u2));
  }
  return out;
}

// rows x cols floats encoded as `t` (rows of row_bytes(t, cols)).
inline std::vector<std::byte> encode_matrix(const std::vector<float>& x, size_t rows, size_t cols,
                                            kernels::dtype t) {
  std::vector<std::byte> out(kernels::row_bytes(t, cols) * rows);
  switch (t) {
    case kernels::dtype::f32:
      std::memcpy(out.data(), x.data(), x.size() * sizeof(float));
      break;
    case kernels::dtype::f16:
    case kernels::dtype::bf16:
      for (size_t i = 0; i < x.size(); ++i) {
        const uint16_t h =
            t == kernels::dtype::f16 ? kernels::fp32_to_fp16(x[i]) : kernels::fp32_to_bf16(x[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      break;
    case kernels::dtype::q8_0:
      if (cols % 32 != 0)
        throw config_error("lora_gguf: Q8_0 needs rows of a multiple of 32 elements, not " +
                           std::to_string(cols));
      for (size_t r = 0; r < rows; ++r)
        kernels::quantize_row_q8_0(
            x.data() + r * cols,
            reinterpret_cast<kernels::block_q8_0*>(out.data() + r * kernels::row_bytes(t, cols)),
            cols);
      break;
    default:
      throw config_error("lora_gguf: unsupported tensor type");
  }
  return out;
}

inline size_t lora_out_dim(const model::qwen3_config& c, model::lora_target t) {
  using model::lora_target;
  if (t == lora_target::q) return c.q_dim();
  if (t == lora_target::k || t == lora_target::v) return c.kv_dim();
  if (t == lora_target::gate || t == lora_target::up) return c.n_ff;
  return c.n_embd;
}
inline size_t lora_in_dim(const model::qwen3_config& c, model::lora_target t) {
  if (t == model::lora_target::o) return c.q_dim();
  if (t == model::lora_target::down) return c.n_ff;
  return c.n_embd;
}

}  // namespace detail

// The metadata llama.cpp's convert_lora_to_gguf.py writes, without tensors (for tests that
// build their own or broken ones).
inline void add_lora_metadata(gguf::writer& w, const std::string& architecture, float alpha) {
  w.add_string("general.architecture", architecture);
  w.add_string("general.type", "adapter");
  w.add_string("adapter.type", "lora");
  if (alpha != 0.0f) w.add_f32("adapter.lora.alpha", alpha);
}

// A writer holding a random adapter for a base of configuration `c`.
inline gguf::writer random_lora_writer(const model::qwen3_config& c, const lora_spec& spec) {
  if (spec.rank == 0) throw config_error("lora_gguf: rank must be at least 1");
  gguf::writer w;
  add_lora_metadata(w, c.architecture, spec.alpha);
  std::mt19937_64 g(spec.seed);
  std::vector<size_t> layers = spec.layers;
  if (layers.empty())
    for (size_t l = 0; l < c.n_layers; ++l) layers.push_back(l);
  for (size_t l : layers) {
    for (model::lora_target t : spec.targets) {
      const size_t in = detail::lora_in_dim(c, t), out = detail::lora_out_dim(c, t);
      const std::string name = "blk." + std::to_string(l) + "." +
                               std::string(model::lora_target_names[static_cast<size_t>(t)]) +
                               ".weight";
      const auto a = detail::normal_samples(g, spec.rank * in, 1.0 / std::sqrt(double(in)));
      const auto b = detail::normal_samples(g, out * spec.rank, spec.b_std);
      w.add_tensor(name + ".lora_a", {uint64_t{in}, uint64_t{spec.rank}},
                   static_cast<uint32_t>(spec.a_type),
                   detail::encode_matrix(a, spec.rank, in, spec.a_type));
      w.add_tensor(name + ".lora_b", {uint64_t{spec.rank}, uint64_t{out}},
                   static_cast<uint32_t>(spec.b_type),
                   detail::encode_matrix(b, out, spec.rank, spec.b_type));
    }
  }
  return w;
}

inline std::vector<std::byte> random_lora_bytes(const model::qwen3_config& c,
                                                const lora_spec& spec) {
  return random_lora_writer(c, spec).to_bytes();
}

// Writes through a temporary file renamed at the end (gguf::writer::write).
inline void write_random_lora(const std::filesystem::path& path, const model::qwen3_config& c,
                              const lora_spec& spec) {
  random_lora_writer(c, spec).write(path);
}

}  // namespace edgecloud::testing
