// SPDX-License-Identifier: Apache-2.0
// Token masks (one bit per vocabulary id) and the loops that apply them to logits.
//
// A mask over 151,936 ids is 2,374 64-bit words (19 KB). Greedy selection over masked logits is
// one pass that skips empty words, scans full words with a branch-free 8-lane max (the compiler
// vectorises it), and walks the set bits of partial words -- so a dense mask costs about what an
// unmasked argmax costs and a sparse mask much less.
//
// Ownership: plain value type owning its words.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace edgecloud::generate {

struct token_mask {
  std::vector<uint64_t> words;
  uint32_t count = 0;   // number of allowed ids
  int32_t single = -1;  // the allowed id when count == 1

  token_mask() = default;
  explicit token_mask(size_t vocab_size) : words((vocab_size + 63) / 64, 0) {}

  bool test(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < words.size() * 64 &&
           ((words[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1u);
  }
  void set(int32_t id) { words[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63); }
  // Recomputes count and single after the bits were set.
  void finish() {
    count = 0;
    single = -1;
    for (size_t w = 0; w < words.size(); ++w) {
      const int c = std::popcount(words[w]);
      if (c == 1 && count == 0) single = static_cast<int32_t>(w * 64 + std::countr_zero(words[w]));
      count += static_cast<uint32_t>(c);
    }
    if (count != 1) single = -1;
  }
  // Calls f(id) for every allowed id in increasing order.
  template <class F>
  void for_each(F&& f) const {
    for (size_t w = 0; w < words.size(); ++w)
      for (uint64_t bits = words[w]; bits; bits &= bits - 1)
        f(static_cast<int32_t>(w * 64 + std::countr_zero(bits)));
  }
};

// Index of the largest logit among allowed ids (lowest id on ties; NaN never wins). When every
// allowed logit is -inf or NaN, the lowest allowed id: a constrained step always yields a token.
// Returns -1 only for an empty mask. `logits` may be shorter than the mask's span: ids past its
// end are treated as not allowed.
inline int32_t masked_argmax(std::span<const float> logits, const token_mask& mask) {
  float best = -std::numeric_limits<float>::infinity();
  int32_t best_id = -1, first_allowed = -1;
  const size_t n = logits.size();
  const size_t full_words = std::min(mask.words.size(), n / 64);
  const float* x = logits.data();
  for (size_t w = 0; w < full_words; ++w) {
    const uint64_t bits = mask.words[w];
    if (bits == 0) continue;
    const size_t base = w * 64;
    if (first_allowed < 0) first_allowed = static_cast<int32_t>(base + std::countr_zero(bits));
    if (bits == ~uint64_t{0}) {
      float acc[8];  // start at -inf, not at x: a NaN start would stick (NaN > v is false)
      for (int j = 0; j < 8; ++j) acc[j] = -std::numeric_limits<float>::infinity();
      for (size_t i = 0; i < 64; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] = x[base + i + j] > acc[j] ? x[base + i + j] : acc[j];
      float m = acc[0];
      for (int j = 1; j < 8; ++j) m = acc[j] > m ? acc[j] : m;
      if (m > best) {
        for (size_t i = 0; i < 64; ++i)
          if (x[base + i] == m) {
            best = m;
            best_id = static_cast<int32_t>(base + i);
            break;
          }
      }
    } else {
      for (uint64_t b = bits; b; b &= b - 1) {
        const size_t id = base + std::countr_zero(b);
        if (x[id] > best) {
          best = x[id];
          best_id = static_cast<int32_t>(id);
        }
      }
    }
  }
  // Tail word(s) covering ids past the last full 64-block of the logits.
  for (size_t w = full_words; w < mask.words.size(); ++w)
    for (uint64_t b = mask.words[w]; b; b &= b - 1) {
      const size_t id = w * 64 + std::countr_zero(b);
      if (id >= n) break;
      if (first_allowed < 0) first_allowed = static_cast<int32_t>(id);
      if (x[id] > best) {
        best = x[id];
        best_id = static_cast<int32_t>(id);
      }
    }
  return best_id >= 0 ? best_id : first_allowed;
}

// Sets every disallowed logit to -inf in place (for samplers that want a masked vector).
inline void apply_mask(std::span<float> logits, const token_mask& mask) {
  const float neg = -std::numeric_limits<float>::infinity();
  for (size_t w = 0; w < mask.words.size(); ++w) {
    const uint64_t bits = mask.words[w];
    if (bits == ~uint64_t{0}) continue;
    const size_t base = w * 64;
    const size_t end = std::min(logits.size(), base + 64);
    for (size_t i = base; i < end; ++i)
      if (!((bits >> (i - base)) & 1u)) logits[i] = neg;
  }
  for (size_t i = mask.words.size() * 64; i < logits.size(); ++i) logits[i] = neg;
}

}  // namespace edgecloud::generate
