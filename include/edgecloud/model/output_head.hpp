// SPDX-License-Identifier: Apache-2.0
// The model's output matrix read a few rows at a time: the logits of chosen token ids without
// the full n_vocab x n_embd product (the restricted head of constrained decoding and label
// scoring). row_dot uses the same matvec kernel and the same Q8_0 rounding of the hidden vector
// as the session's full head, so a restricted logit equals the full one. bind(h) quantizes h
// once; row_dot on another vector rebinds.
// Ownership: borrows the model (which must outlive it); owns one n_embd/32-block buffer,
// allocated at construction, so row_dot allocates nothing.
#pragma once

#include <edgecloud/kernels.hpp>
#include <edgecloud/model/qwen3.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace edgecloud::model {

class output_head {
 public:
  explicit output_head(const qwen3& m)
      : w_(&m.output()), xq_((m.config().n_embd + 31) / 32) {}

  size_t rows() const { return w_->rows; }
  size_t cols() const { return w_->cols; }
  void bind(std::span<const float> h) const {
    if (w_->quantized()) kernels::quantize_row_q8_0(h.data(), xq_.data(), h.size());
    bound_ = h.data();
  }
  float row_dot(int32_t row, std::span<const float> h) const {
    if (h.data() != bound_) bind(h);
    float y = 0;
    kernels::matvec(w_->type, w_->row(static_cast<size_t>(row)), w_->cols, h.data(),
                    w_->quantized() ? xq_.data() : nullptr, &y, 0, 1);
    return y;
  }

 private:
  const weight_view* w_;
  mutable std::vector<kernels::block_q8_0> xq_;
  mutable const float* bound_ = nullptr;
};

}  // namespace edgecloud::model
