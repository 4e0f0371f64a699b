// SPDX-License-Identifier: Apache-2.0
// Merging a fixed LoRA set into a private copy of the weights it touches:
//
//   auto merged = edgecloud::model::merge_lora(base, {{adapter, 1.0f}});
//   edgecloud::model::session s(merged);      // no LoRA work per token
//
// W' = W + sum_a s_a B_a A_a for every adapted projection (s = scale * alpha / r, as unmerged),
// computed in float with Eigen (the dense maths off the token loop) from W dequantized, then
// stored in W's own type: F32/F16/BF16 by rounding each element, Q8_0 requantized block by
// block (d = max|x|/127, q = round(x/d), the engine's quantize_row_q8_0). The merged model
// shares base's mapping for every weight the set leaves alone.
//
// When to merge. Unmerged costs r(in + out) multiply-adds per projection and adapter per token
// and two extra forks per projection group; merged costs nothing per token, but holds a private
// copy of each touched matrix (an adapter on all seven projections copies ~all layer weights:
// ~440 MB for the 0.6B shape in Q8_0) and switching means merging again (seconds). Merge when
// one adapter is fixed for the life of the app and memory allows it.
//
// Accuracy. F32 bases: merged equals unmerged to float rounding (~1e-6 relative). Q8_0 bases:
// unmerged applies the exact low-rank term to a Q8_0 W; merged rounds W + sBA to Q8_0 again,
// one more rounding of each weight (at most half a quantization step, d/2 = max|w|/254 per
// 32-block, of the merged values), so merged and unmerged logits differ by about the Q8_0
// error itself: the test holds both within 2e-2 of the exact maths.
//
// Ownership: the returned qwen3 keeps the base's mapping alive (shared) and owns the merged
// matrices; `base` and the adapters may be destroyed afterwards.
#pragma once

#include <Eigen/Dense>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/kv_cache.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <memory>
#include <vector>

namespace edgecloud::model {

namespace detail {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline row_matrix dequantized(const weight_view& w) {
  row_matrix m(static_cast<Eigen::Index>(w.rows), static_cast<Eigen::Index>(w.cols));
  for (size_t r = 0; r < w.rows; ++r)
    kernels::dequantize_row(w.type, w.row(r), m.data() + r * w.cols, w.cols);
  return m;
}

// Encodes `m` as rows of `type` into `out` (rows * row_bytes(type, cols) bytes).
inline void encode_rows(const row_matrix& m, kernels::dtype type, std::byte* out) {
  const size_t rows = static_cast<size_t>(m.rows()), cols = static_cast<size_t>(m.cols());
  const size_t rb = kernels::row_bytes(type, cols);
  for (size_t r = 0; r < rows; ++r) {
    const float* x = m.data() + r * cols;
    std::byte* o = out + r * rb;
    switch (type) {
      case kernels::dtype::f32:
        std::memcpy(o, x, cols * sizeof(float));
        break;
      case kernels::dtype::f16:
      case kernels::dtype::bf16:
        for (size_t c = 0; c < cols; ++c) {
          const uint16_t h = type == kernels::dtype::f16 ? kernels::fp32_to_fp16(x[c])
                                                         : kernels::fp32_to_bf16(x[c]);
          std::memcpy(o + 2 * c, &h, 2);
        }
        break;
      case kernels::dtype::q8_0:
        kernels::quantize_row_q8_0(x, reinterpret_cast<kernels::block_q8_0*>(o), cols);
        break;
      default:
        throw config_error("merge_lora: unsupported weight type");
    }
  }
}

inline weight_view& lora_base_weight_mut(qwen3_layer& l, lora_target t) noexcept {
  return const_cast<weight_view&>(lora_base_weight(l, t));
}

}  // namespace detail

// The base with `set` merged into private copies of the touched weights (see above).
// model_error for an adapter made for another base shape, config_error for a bad binding.
inline qwen3 merge_lora(const qwen3& base, const lora_set& set) {
  check_lora_set(set);
  const qwen3_config& c = base.config();
  for (const lora_binding& b : set)
    if (!b.adapter->fits(c))
      throw model_error("LoRA " + b.adapter->name() + " was made for another base model shape");
  using buffer = std::unique_ptr<std::byte[], detail::aligned_free>;
  auto storage = std::make_shared<std::vector<buffer>>();
  std::vector<qwen3_layer> layers(c.n_layers);
  for (size_t l = 0; l < c.n_layers; ++l) layers[l] = base.layer(l);
  for (size_t l = 0; l < c.n_layers; ++l) {
    for (size_t t = 0; t < n_lora_targets; ++t) {
      const auto target = static_cast<lora_target>(t);
      weight_view& w = detail::lora_base_weight_mut(layers[l], target);
      bool touched = false;
      detail::row_matrix merged;
      for (const lora_binding& b : set) {
        const lora_pair& p = b.adapter->pair(l, target);
        if (!p || b.scale == 0.0f) continue;
        if (!touched) merged = detail::dequantized(w), touched = true;
        const float s = b.adapter->scale_for(b.scale, p.rank);
        merged.noalias() += s * (detail::dequantized(p.b) * detail::dequantized(p.a));
      }
      if (!touched) continue;
      buffer bytes = edgecloud::model::detail::aligned_bytes(w.row_bytes * w.rows);
      detail::encode_rows(merged, w.type, bytes.get());
      w.data = bytes.get();
      storage->push_back(std::move(bytes));
    }
  }
  return qwen3(base, std::move(layers), std::shared_ptr<const void>(storage, storage.get()));
}

}  // namespace edgecloud::model
