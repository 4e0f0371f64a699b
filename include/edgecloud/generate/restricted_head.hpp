// SPDX-License-Identifier: Apache-2.0
// Restricted output head: logits of a few candidate ids only.
//
// The output projection (151,936 x 1,024 for Qwen3-0.6B, ~150 MB in Q8_0) is the largest single
// matrix product of a decode step. When the next token must be one of a small set -- the first
// tokens of ~10 labels, a mask with a handful of bits -- only those rows are needed:
// z_i = W[i,:] . h for i in the set, |set| x hidden work instead of vocab x hidden. The values
// equal the full head's on those ids; they are NOT normalised over the vocabulary, so they rank
// candidates (greedy, probabilities renormalised over the set) but cannot give the outside mass
// of label_scoring.hpp, which needs the full softmax.
//
// The head is any OutputHead (concepts.hpp): the model plugs in its weight rows (e.g. a row
// subset through kernels::matvec, any dtype); dense_f32_head is the plain float version.
#pragma once

#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <edgecloud/generate/token_mask.hpp>
#include <limits>
#include <span>
#include <string>

namespace edgecloud::generate {

// Row-major float matrix [rows x cols] viewed as an output head. Does not own the weights.
struct dense_f32_head {
  const float* weights = nullptr;
  size_t n_rows = 0, n_cols = 0;

  size_t rows() const { return n_rows; }
  size_t cols() const { return n_cols; }
  float row_dot(int32_t row, std::span<const float> h) const {
    const float* w = weights + static_cast<size_t>(row) * n_cols;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n_cols; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += w[i + j] * h[i + j];
    float s = 0;
    for (; i < n_cols; ++i) s += w[i] * h[i];
    for (int j = 0; j < 8; ++j) s += acc[j];
    return s;
  }
};
static_assert(OutputHead<dense_f32_head>);

// Any callable float(int32_t row, std::span<const float> h) as an OutputHead.
template <class RowDot>
struct callback_head {
  RowDot dot;
  size_t n_rows = 0, n_cols = 0;
  size_t rows() const { return n_rows; }
  size_t cols() const { return n_cols; }
  float row_dot(int32_t row, std::span<const float> h) const { return dot(row, h); }
};

// out[k] = W[ids[k], :] . hidden. Throws config_error on a size mismatch or an id outside W.
template <OutputHead Head>
void restricted_logits(const Head& head, std::span<const float> hidden,
                       std::span<const int32_t> ids, std::span<float> out) {
  if (hidden.size() != head.cols())
    throw config_error("restricted_logits: hidden size " + std::to_string(hidden.size()) +
                       " != head columns " + std::to_string(head.cols()));
  if (out.size() != ids.size())
    throw config_error("restricted_logits: output and id lists differ in length");
  for (size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < 0 || static_cast<size_t>(ids[k]) >= head.rows())
      throw config_error("restricted_logits: id " + std::to_string(ids[k]) + " outside the head");
    out[k] = head.row_dot(ids[k], hidden);
  }
}

// Greedy choice among the ids of `mask` computing only their logits (lowest id on ties; the
// lowest allowed id if all are NaN). Returns -1 for an empty mask.
template <OutputHead Head>
int32_t restricted_argmax(const Head& head, std::span<const float> hidden, const token_mask& mask) {
  if (hidden.size() != head.cols())
    throw config_error("restricted_argmax: hidden size does not match the head");
  float best = -std::numeric_limits<float>::infinity();
  int32_t best_id = -1, first = -1;
  mask.for_each([&](int32_t id) {
    if (static_cast<size_t>(id) >= head.rows()) return;
    if (first < 0) first = id;
    const float z = head.row_dot(id, hidden);
    if (z > best) {
      best = z;
      best_id = id;
    }
  });
  return best_id >= 0 ? best_id : first;
}

}  // namespace edgecloud::generate
