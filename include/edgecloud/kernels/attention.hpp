// SPDX-License-Identifier: Apache-2.0
// Attention of one query head over n_pos cached positions:
//   scores[p] = scale * q·K[p],  w = softmax(scores),  out = sum_p w[p] V[p].
// K and V rows hold head_dim values of type kv (f32 or f16), consecutive positions `stride`
// elements apart (a KV cache row of all KV heads: stride = n_kv_heads * head_dim). scores is
// caller-owned scratch of n_pos floats and holds the attention weights afterwards.
#pragma once

#include <string>

#include "edgecloud/kernels/dispatch.hpp"

namespace edgecloud::kernels {

inline void attention_head(const float* q, const void* K, const void* V, dtype kv, size_t stride,
                           size_t n_pos, size_t head_dim, float scale, float* scores, float* out) {
  if (kv != dtype::f32 && kv != dtype::f16) {
    throw config_error(std::string("attention_head: KV cache type must be F32 or F16, got ") +
                       dtype_name(kv));
  }
  active_table().attention_head(q, K, V, kv, stride, n_pos, head_dim, scale, scores, out);
}

}  // namespace edgecloud::kernels
