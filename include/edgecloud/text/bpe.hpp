// SPDX-License-Identifier: Apache-2.0
// Byte-level BPE merging by rank, the algorithm of Hugging Face tokenizers (word.rs merge_all):
// start from one symbol per byte and repeatedly apply the adjacent pair with the lowest merge
// rank, the leftmost one among equal ranks, until no adjacent pair has a merge.
//  * merge_table: (left id, right id) -> (rank, merged id), open addressing over 64-bit entries
//    that pack both ids and the rank (Qwen3: 151,387 merges in 2 MiB + 0.6 MiB of merged ids).
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
  // Ids below 2^21 - 1 and ranks below 2^22 - 1 fit an entry (the tokenizer checks).
  static constexpr int32_t max_id = (1 << 21) - 2, max_rank = (1 << 22) - 2;
  struct found {
    int32_t rank;  // -1: no merge for this pair
    int32_t merged;
  };

  void reserve(size_t n_merges) {
    size_t cap = 16;
    while (cap < n_merges + n_merges / 2) cap <<= 1;  // load <= 2/3
    slots_.assign(cap, empty);
    mask_ = cap - 1;
    merged_.clear();
    merged_.reserve(n_merges);
  }
  void prefetch(int32_t left, int32_t right) const {
    __builtin_prefetch(&slots_[hash(pair_key(left, right))]);
  }
  // Ranks must be inserted in increasing order 0, 1, 2...; a pair listed twice keeps its first
  // (lowest) rank, as Hugging Face does. Returns false for such a duplicate.
  bool insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
    merged_.push_back(merged);
    const uint64_t k = pair_key(left, right);
    for (size_t i = hash(k);; i = (i + 1) & mask_) {
      if (slots_[i] == empty) {
        slots_[i] = (k << 22) | static_cast<uint64_t>(rank);
        return true;
      }
      if ((slots_[i] >> 22) == k) return false;
    }
  }
  // Ranks of the 65,536 byte pairs (the first lookups of every piece) in a dense table, given
  // the id of each byte's token. Call once after all inserts.
  void index_byte_pairs(const int32_t* byte_ids) {
    byte_pair_rank_.assign(256 * 256, -1);
    for (unsigned a = 0; a < 256; ++a) {
      for (unsigned b = 0; b < 256; ++b) prefetch(byte_ids[a], byte_ids[b]);
      for (unsigned b = 0; b < 256; ++b) byte_pair_rank_[a * 256 + b] = find(byte_ids[a], byte_ids[b]).rank;
    }
  }
  found find_bytes(unsigned char a, unsigned char b) const {
    const int32_t rank = byte_pair_rank_[a * 256u + b];
    return {rank, rank >= 0 ? merged_[static_cast<size_t>(rank)] : 0};
  }
  // Rank only (-1: none); merged_of(rank) gives the merged id when the merge is applied.
  int32_t rank_bytes(unsigned char a, unsigned char b) const { return byte_pair_rank_[a * 256u + b]; }
  int32_t rank(int32_t left, int32_t right) const {
    const uint64_t k = pair_key(left, right);
    for (size_t i = hash(k);; i = (i + 1) & mask_) {
      const uint64_t e = slots_[i];
      if (e == empty) return -1;
      if ((e >> 22) == k) return static_cast<int32_t>(e & ((uint64_t{1} << 22) - 1));
    }
  }
  int32_t merged_of(int32_t rank) const { return merged_[static_cast<size_t>(rank)]; }
  found find(int32_t left, int32_t right) const {
    const uint64_t k = pair_key(left, right);
    for (size_t i = hash(k);; i = (i + 1) & mask_) {
      const uint64_t e = slots_[i];
      if (e == empty) return {-1, 0};
      if ((e >> 22) == k) {
        const auto rank = static_cast<int32_t>(e & ((uint64_t{1} << 22) - 1));
        return {rank, merged_[static_cast<size_t>(rank)]};
      }
    }
  }

 private:
  static constexpr uint64_t empty = ~uint64_t{0};
  // left and right ids, 21 bits each, in the top 42 bits of an entry; the rank in the low 22.
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 21) | static_cast<uint32_t>(b);
  }
  size_t hash(uint64_t k) const {
    k *= 0x9E3779B97F4A7C15ull;
    k ^= k >> 29;
    return static_cast<size_t>(k) & mask_;
  }
  std::vector<uint64_t> slots_;  // 8 bytes a merge: Qwen3's 151,387 merges in 2 MiB
  std::vector<int32_t> merged_;  // merged id by rank
  std::vector<int32_t> byte_pair_rank_;  // 256 x 256, -1: no merge
  size_t mask_ = 0;
};

// Merges the symbols `ids` (initially one id per byte) in place; returns the new count.
class bpe_merger {
 public:
  // `bytes`: the piece; ids[k] is initially the token of bytes[k].
  size_t merge(const merge_table& table, const unsigned char* bytes, int32_t* ids, size_t n) {
    if (n < 2) return n;
    return n < linear_limit ? merge_linear(table, bytes, ids, n) : merge_heap(table, bytes, ids, n);
  }

 private:
  static constexpr size_t linear_limit = 48;
  static constexpr int32_t no_rank = std::numeric_limits<int32_t>::max();

  size_t merge_linear(const merge_table& table, const unsigned char* bytes, int32_t* ids, size_t n) {
    int32_t ranks[linear_limit];  // ranks[k]: merge rank of the pair (ids[k], ids[k + 1])
    auto rank_or_none = [](int32_t r) { return r >= 0 ? r : no_rank; };
    for (size_t k = 0; k + 1 < n; ++k) ranks[k] = rank_or_none(table.rank_bytes(bytes[k], bytes[k + 1]));
    while (n > 1) {
      size_t best = 0;
      for (size_t k = 1; k + 1 < n; ++k)
        if (ranks[k] < ranks[best]) best = k;
      if (ranks[best] == no_rank) break;
      ids[best] = table.merged_of(ranks[best]);
      // Remove symbol best + 1 and pair best + 1.
      for (size_t k = best + 1; k + 1 < n; ++k) ids[k] = ids[k + 1];
      for (size_t k = best + 1; k + 2 < n; ++k) ranks[k] = ranks[k + 1];
      --n;
      if (best + 1 < n) ranks[best] = rank_or_none(table.rank(ids[best], ids[best + 1]));
      if (best > 0) ranks[best - 1] = rank_or_none(table.rank(ids[best - 1], ids[best]));
    }
    return n;
  }

  struct candidate {
    int32_t rank;
    uint32_t pos;
    int32_t left, right;  // the pair when queued: stale once either side changed
    // std heap functions build a max-heap: "less" = larger rank, then larger position.
    bool operator<(const candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  size_t merge_heap(const merge_table& table, const unsigned char* bytes, int32_t* ids, size_t n) {
    next_.resize(n);
    prev_.resize(n);
    heap_.clear();
    for (size_t k = 0; k < n; ++k) {
      next_[k] = static_cast<uint32_t>(k + 1);
      prev_[k] = static_cast<uint32_t>(k) - 1;  // wraps to UINT32_MAX for the first symbol
    }
    auto queue = [&](uint32_t k, int32_t rank) {
      if (rank < 0) return;
      heap_.push_back({rank, k, ids[k], ids[next_[k]]});
      std::push_heap(heap_.begin(), heap_.end());
    };
    for (uint32_t k = 0; k + 1 < n; ++k) queue(k, table.rank_bytes(bytes[k], bytes[k + 1]));
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end());
      const candidate c = heap_.back();
      heap_.pop_back();
      const uint32_t k = c.pos;
      if (ids[k] != c.left) continue;  // merged since it was queued (or removed: -1)
      const uint32_t right = next_[k];
      if (right >= n || ids[right] != c.right) continue;
      ids[k] = table.merged_of(c.rank);
      ids[right] = -1;
      next_[k] = next_[right];
      if (next_[k] < n) prev_[next_[k]] = k;
      if (prev_[k] < n) queue(prev_[k], table.rank(ids[prev_[k]], ids[k]));
      if (next_[k] < n) queue(k, table.rank(ids[k], ids[next_[k]]));
    }
    size_t out = 0;
    for (uint32_t k = 0; k < n; k = next_[k]) ids[out++] = ids[k];
    return out;
  }

  std::vector<uint32_t> next_, prev_;
  std::vector<candidate> heap_;
};

}  // namespace edgecloud::text::detail
