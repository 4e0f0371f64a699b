// SPDX-License-Identifier: Apache-2.0
// The plug-point concepts of the generate layer; re-exported by edgecloud/concepts.hpp.
//
// LogitsSource: whatever produces next-token logits -- a model session, a cloud stub, a test's
// seeded random stream. `advance(token)` appends a token; `logits()` returns the logits for the
// next position given everything appended so far. A session may compute lazily: tokens
// appended without reading logits in between (forced tokens) can be run as one batch when
// logits() is next called. The span stays valid until the next advance/truncate.
//
// RewindableLogitsSource: a source that can drop appended tokens back to an earlier position,
// so label scoring can branch from a shared prefix without recomputing it (a KV-cache session
// truncates its cache; position() counts every token the source has seen, prompt included).
//
// OutputHead: the model's output matrix seen one row at a time, so a caller that only needs a
// few candidates' logits (restricted_head.hpp) skips the 151,936 x hidden product.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace edgecloud::generate {

template <class S>
concept LogitsSource = requires(S& s, int32_t token) {
  { s.logits() } -> std::convertible_to<std::span<const float>>;
  s.advance(token);
};

template <class S>
concept RewindableLogitsSource = LogitsSource<S> && requires(S& s, const S& cs, size_t n) {
  { cs.position() } -> std::convertible_to<size_t>;
  s.truncate(n);
};

template <class H>
concept OutputHead = requires(const H& h, int32_t row, std::span<const float> hidden) {
  { h.rows() } -> std::convertible_to<size_t>;
  { h.cols() } -> std::convertible_to<size_t>;
  { h.row_dot(row, hidden) } -> std::convertible_to<float>;
};

}  // namespace edgecloud::generate
