// SPDX-License-Identifier: Apache-2.0
// Rotary position embedding, NeoX layout (Su et al. 2021; GPT-NeoX "rotate_half"): in every
// head of head_dim values, the pair (x[i], x[i + head_dim/2]), i < head_dim/2, is rotated by
// theta_i = pos * freq_base^(-2i/head_dim):
//   x[i]      <- x[i] cos theta_i - x[i+h] sin theta_i
//   x[i + h]  <- x[i] sin theta_i + x[i+h] cos theta_i
// In place on n_heads consecutive heads.
#pragma once

#include "edgecloud/kernels/dispatch.hpp"

namespace edgecloud::kernels {

inline void rope_neox(float* x, size_t n_heads, size_t head_dim, int pos, float freq_base) {
  active_table().rope_neox(x, n_heads, head_dim, pos, freq_base);
}

}  // namespace edgecloud::kernels
