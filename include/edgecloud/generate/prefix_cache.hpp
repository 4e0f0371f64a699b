// SPDX-License-Identifier: Apache-2.0
// Prefix cache: key/value states of token prefixes, kept so that a request pays only for the
// tokens it does not share with an earlier one.
//
// Why it is exact. In a causal decoder the keys and values stored for position i depend only on
// tokens 0..i (and on i itself, through RoPE). So the KV rows of positions [0, n) computed for a
// sequence S are exactly the rows any sequence starting with S[0..n) would compute there, and
// copying them back into a session's cache at the same positions gives the same logits as
// recomputing them (bit for bit: the same kernels wrote the same bytes). A stored entry is also
// usable in part: its first L rows serve every sequence that shares L tokens with it, which is
// what multi-turn history needs (turn n+1 starts with turn n's conversation).
//
// Adapters. KV rows depend on the LoRA adapters active when they were computed
// (model/lora.hpp): every K and V projection, and every layer's input, changes with them. So an
// entry also carries the model::lora_key of its session's adapter set, and find/covers/insert
// only ever match entries of the same key: a prefix computed under one set is never reused
// under another (nor under the base model, whose key is empty). The default key is the base's,
// so callers without adapters are unchanged.
//
// Policy. Entries are keyed by their token sequence; lookup returns the entry with the longest
// common prefix with the query (a linear scan: a few dozen entries of a few hundred tokens is a
// few microseconds, far below one forward pass). Memory is capped in bytes (KV rows plus the
// keys); inserting past the cap evicts least-recently-used entries. An entry whose tokens are a
// prefix of a new one is replaced by it; a new one that is a prefix of a held one is not stored.
//
// Layout of an entry: per layer, the K rows of positions [0, n) then the V rows, each row
// row_elements() elements of the cache's type -- one memcpy per layer and side, both ways.
//
// Ownership and threads: owns copies of the rows (never pointers into a session). Not
// thread-safe: one per session (or guard it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/model/kv_cache.hpp>  // kernels::dtype, the KV element type of the model API
#include <edgecloud/model/lora.hpp>      // model::lora_key
#include <list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::generate {

struct prefix_cache_config {
  size_t max_bytes = size_t{256} << 20;  // KV rows + keys of all entries
  size_t min_tokens = 8;                 // shorter prefixes are cheaper to recompute than to copy
};

// What a KV cache must offer to be copied in and out (model::kv_cache does).
template <class C>
concept CopyableKvCache = requires(C& c, const C& cc, size_t n, size_t layer) {
  { cc.size() } -> std::convertible_to<size_t>;
  { cc.capacity() } -> std::convertible_to<size_t>;
  { cc.row_elements() } -> std::convertible_to<size_t>;
  { cc.element_size() } -> std::convertible_to<size_t>;
  { cc.type() } -> std::convertible_to<kernels::dtype>;
  { cc.shape().n_layers } -> std::convertible_to<size_t>;
  { cc.k_data(layer) } -> std::convertible_to<const void*>;
  { cc.v_data(layer) } -> std::convertible_to<const void*>;
  { c.k_data(layer) } -> std::convertible_to<void*>;
  { c.v_data(layer) } -> std::convertible_to<void*>;
  c.truncate(n);
  c.advance(n);
};

class prefix_cache {
 public:
  struct match {
    size_t length = 0;  // positions usable from the entry (0 = no match)
    const void* entry = nullptr;
  };
  struct statistics {
    size_t entries = 0, bytes = 0;
    size_t lookups = 0, hits = 0;  // hits: lookups that found >= min_tokens positions
    size_t reused_positions = 0;   // positions copied back instead of recomputed
    size_t insertions = 0, evictions = 0;
  };

  explicit prefix_cache(prefix_cache_config config = {}) : config_(config) {}

  const prefix_cache_config& config() const noexcept { return config_; }
  statistics stats() const noexcept {
    statistics s = stats_;
    s.entries = entries_.size();
    s.bytes = bytes_;
    return s;
  }
  size_t bytes() const noexcept { return bytes_; }
  size_t size() const noexcept { return entries_.size(); }

  // The entry sharing the longest prefix with `tokens` (ties: the most recently used), and how
  // many leading positions of it are usable. Matches shorter than min_tokens are reported as 0.
  // Only entries computed under `adapters` (the session's adapter_key()) are considered.
  match find(std::span<const int32_t> tokens, const model::lora_key& adapters = {}) {
    ++stats_.lookups;
    match best;
    for (const entry& e : entries_) {
      if (e.adapters != adapters) continue;
      const size_t n = common_prefix(e.tokens, tokens);
      if (n > best.length) best = {n, &e};
    }
    if (best.length < config_.min_tokens) return {};
    ++stats_.hits;
    return best;
  }

  // Whether some entry starts with all of `tokens` (no statistics, no LRU change).
  bool covers(std::span<const int32_t> tokens, const model::lora_key& adapters = {}) const {
    for (const entry& e : entries_)
      if (e.adapters == adapters && e.tokens.size() >= tokens.size() &&
          common_prefix(e.tokens, tokens) == tokens.size())
        return true;
    return false;
  }

  // Copies the first `m.length` positions of the matched entry into `cache`, which must have the
  // entry's geometry; the cache then holds exactly those positions. Marks the entry used.
  template <CopyableKvCache Cache>
  void restore(const match& m, Cache& cache) {
    if (!m.entry || m.length == 0) throw config_error("prefix_cache::restore: empty match");
    auto it = find_entry(m.entry);
    entry& e = *it;
    if (m.length > e.n_positions) throw config_error("prefix_cache::restore: match too long");
    check_geometry(e, cache);
    if (m.length > cache.capacity())
      throw capacity_error("prefix_cache::restore: " + std::to_string(m.length) +
                           " positions do not fit a KV cache of " +
                           std::to_string(cache.capacity()));
    const size_t row = e.row_bytes, side = e.n_positions * row;
    cache.truncate(0);
    for (size_t l = 0; l < e.n_layers; ++l) {
      const std::byte* src = e.rows.get() + l * 2 * side;
      std::memcpy(cache.k_data(l), src, m.length * row);
      std::memcpy(cache.v_data(l), src + side, m.length * row);
    }
    cache.advance(m.length);
    stats_.reused_positions += m.length;
    entries_.splice(entries_.begin(), entries_, it);  // most recently used first
  }

  // Stores positions [0, n) of `cache` under tokens[0, n), n = tokens.size() <= cache.size(),
  // computed under the adapter set whose key is `adapters`.
  // Returns false when nothing was stored: too short, already covered by a held entry of the
  // same adapters, or larger than the whole cap.
  template <CopyableKvCache Cache>
  bool insert(std::span<const int32_t> tokens, const Cache& cache,
              const model::lora_key& adapters = {}) {
    const size_t n = tokens.size();
    if (n < config_.min_tokens) return false;
    if (n > cache.size())
      throw config_error("prefix_cache::insert: " + std::to_string(n) +
                         " tokens but the KV cache holds " + std::to_string(cache.size()));
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->adapters != adapters) {
        ++it;
        continue;
      }
      if (it->tokens.size() >= n && common_prefix(it->tokens, tokens) == n) {
        entries_.splice(entries_.begin(), entries_, it);  // covered: refresh it
        return false;
      }
      if (common_prefix(it->tokens, tokens) == it->tokens.size()) {  // superseded by the new one
        bytes_ -= it->bytes;
        it = entries_.erase(it);
        continue;
      }
      ++it;
    }
    const size_t row = cache.row_elements() * cache.element_size();
    const size_t layers = cache.shape().n_layers;
    const size_t kv_bytes = layers * 2 * n * row;
    const size_t total =
        kv_bytes + n * sizeof(int32_t) + adapters.size() * sizeof(uint64_t) + sizeof(entry);
    if (total > config_.max_bytes) return false;
    while (bytes_ + total > config_.max_bytes && !entries_.empty()) {
      bytes_ -= entries_.back().bytes;
      entries_.pop_back();
      ++stats_.evictions;
    }
    entry e;
    e.tokens.assign(tokens.begin(), tokens.end());
    e.adapters = adapters;
    e.n_positions = n;
    e.n_layers = layers;
    e.row_bytes = row;
    e.type = cache.type();
    e.bytes = total;
    e.rows = std::make_unique<std::byte[]>(kv_bytes);
    const size_t side = n * row;
    for (size_t l = 0; l < layers; ++l) {
      std::byte* dst = e.rows.get() + l * 2 * side;
      std::memcpy(dst, cache.k_data(l), side);
      std::memcpy(dst + side, cache.v_data(l), side);
    }
    bytes_ += total;
    entries_.push_front(std::move(e));
    ++stats_.insertions;
    return true;
  }

  void clear() noexcept {
    entries_.clear();
    bytes_ = 0;
  }

  static size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) noexcept {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
  }

 private:
  struct entry {
    std::vector<int32_t> tokens;
    model::lora_key adapters;  // the adapter set the rows were computed under
    size_t n_positions = 0, n_layers = 0, row_bytes = 0, bytes = 0;
    kernels::dtype type = kernels::dtype::f16;
    std::unique_ptr<std::byte[]> rows;
  };

  std::list<entry>::iterator find_entry(const void* p) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (&*it == p) return it;
    throw config_error(
        "prefix_cache::restore: the matched entry was evicted (restore right "
        "after find)");
  }

  template <class Cache>
  static void check_geometry(const entry& e, const Cache& cache) {
    if (cache.shape().n_layers != e.n_layers ||
        cache.row_elements() * cache.element_size() != e.row_bytes || cache.type() != e.type)
      throw config_error(
          "prefix_cache::restore: the entry was made by a KV cache of another "
          "shape or element type");
  }

  prefix_cache_config config_;
  std::list<entry> entries_;  // most recently used first
  size_t bytes_ = 0;
  statistics stats_;
};

}  // namespace edgecloud::generate
