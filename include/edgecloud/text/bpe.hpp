// SPDX-License-Identifier: Apache-2.0
// Byte-level BPE merging by rank, the algorithm of Hugging Face tokenizers (word.rs merge_all):
// start from one symbol per byte and repeatedly apply the adjacent pair with the lowest merge
// rank, the leftmost one among equal ranks, until no adjacent pair has a merge.
//  * merge_table: (left id, right id) -> (rank, merged id), open addressing over 64-bit keys,
//    load factor <= 1/2 (Qwen3: 151,387 merges in 4 MiB).
//  * bpe_merger: short pieces (< 24 bytes, nearly all of real text) use a rank array scanned for
//    its minimum, O(n^2) with tiny constants; longer pieces (long words, runs of one character,
//    CJK sentences) use a binary heap over a linked list of symbols with lazy invalidation,
//    O(n log n), so a 1 MB run of 'a' costs milliseconds, not hours.
// Owns its tables (plain vectors); a merger's scratch vectors are reused between calls.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace edgecloud::text::detail {

class merge_table {
 public:
  struct entry {
    uint64_t key = empty_key;
    int32_t rank = 0;
    int32_t merged = 0;
  };
  static constexpr uint64_t empty_key = ~uint64_t{0};

  void reserve(size_t n_merges) {
    size_t cap = 16;
    while (cap < n_merges * 2) cap <<= 1;
    slots_.assign(cap, entry{});
    mask_ = cap - 1;
  }
  // Keeps the first (lowest-rank) entry of a pair listed twice. Returns false if it was present.
  bool insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
    const uint64_t k = key(left, right);
    for (size_t i = hash(k);; i = (i + 1) & mask_) {
      if (slots_[i].key == k) return false;
      if (slots_[i].key == empty_key) {
        slots_[i] = {k, rank, merged};
        return true;
      }
    }
  }
  const entry* find(int32_t left, int32_t right) const {
    const uint64_t k = key(left, right);
    for (size_t i = hash(k);; i = (i + 1) & mask_) {
      const entry& e = slots_[i];
      if (e.key == k) return &e;
      if (e.key == empty_key) return nullptr;
    }
  }

 private:
  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  size_t hash(uint64_t k) const {
    k ^= k >> 29;
    k *= 0xBF58476D1CE4E5B9ull;
    k ^= k >> 32;
    return static_cast<size_t>(k) & mask_;
  }
  std::vector<entry> slots_;
  size_t mask_ = 0;
};

// Merges the symbols `ids` (initially one id per byte) in place; returns the new count.
class bpe_merger {
 public:
  size_t merge(const merge_table& table, int32_t* ids, size_t n) {
    if (n < 2) return n;
    return n < linear_limit ? merge_linear(table, ids, n) : merge_heap(table, ids, n);
  }

 private:
  static constexpr size_t linear_limit = 24;
  static constexpr int32_t no_rank = std::numeric_limits<int32_t>::max();

  size_t merge_linear(const merge_table& table, int32_t* ids, size_t n) {
    int32_t ranks[linear_limit];
    int32_t merged[linear_limit];
    auto look = [&](size_t k) {
      const auto* e = table.find(ids[k], ids[k + 1]);
      ranks[k] = e ? e->rank : no_rank;
      merged[k] = e ? e->merged : 0;
    };
    for (size_t k = 0; k + 1 < n; ++k) look(k);
    while (n > 1) {
      size_t best = 0;
      for (size_t k = 1; k + 1 < n; ++k)
        if (ranks[k] < ranks[best]) best = k;
      if (ranks[best] == no_rank) break;
      ids[best] = merged[best];
      for (size_t k = best + 1; k + 1 < n; ++k) {
        ids[k] = ids[k + 1];
        ranks[k] = ranks[k + 1];
        merged[k] = merged[k + 1];
      }
      --n;
      if (best + 1 < n) look(best);
      if (best > 0) look(best - 1);
    }
    return n;
  }

  struct candidate {
    int32_t rank;
    uint32_t pos;
    // std heap functions build a max-heap: "less" = larger rank, then larger position.
    bool operator<(const candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  size_t merge_heap(const merge_table& table, int32_t* ids, size_t n) {
    next_.resize(n);
    prev_.resize(n);
    heap_.clear();
    for (size_t k = 0; k < n; ++k) {
      next_[k] = static_cast<uint32_t>(k + 1);
      prev_[k] = static_cast<uint32_t>(k) - 1;  // wraps to UINT32_MAX for the first symbol
    }
    auto push = [&](uint32_t k) {
      if (const auto* e = table.find(ids[k], ids[next_[k]])) {
        heap_.push_back({e->rank, k});
        std::push_heap(heap_.begin(), heap_.end());
      }
    };
    for (uint32_t k = 0; k + 1 < n; ++k) push(k);
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end());
      const candidate c = heap_.back();
      heap_.pop_back();
      const uint32_t k = c.pos;
      if (ids[k] < 0) continue;  // merged into its left neighbour since
      const uint32_t right = next_[k];
      if (right >= n) continue;
      const auto* e = table.find(ids[k], ids[right]);
      if (!e || e->rank != c.rank) continue;  // the pair changed since it was queued
      ids[k] = e->merged;
      ids[right] = -1;
      next_[k] = next_[right];
      if (next_[k] < n) prev_[next_[k]] = k;
      if (prev_[k] < n) push(prev_[k]);
      if (next_[k] < n) push(k);
    }
    size_t out = 0;
    for (uint32_t k = 0; k < n; k = next_[k]) ids[out++] = ids[k];
    return out;
  }

  std::vector<uint32_t> next_, prev_;
  std::vector<candidate> heap_;
};

}  // namespace edgecloud::text::detail
