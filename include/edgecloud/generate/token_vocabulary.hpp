// SPDX-License-Identifier: Apache-2.0
// A vocabulary seen as byte strings, indexed as tries for walking against a byte automaton.
//
// Input: one raw byte string per token id, index = id, covering the whole logit vector (151,936
// entries for Qwen3). An empty string marks an id that must never be produced by a constraint:
// ids past the tokenizer's table, special/control tokens, the end token.
//
// Tries are stored in depth-first order (node = one distinct token prefix): a node carries its
// byte, its depth and the index one past its subtree, so a walk is a forward scan that jumps
// over a subtree as soon as the automaton rejects its prefix -- linear, branch-light and
// cache-friendly. Two tries: tokens of at most `short_token_bytes` bytes (the vast majority;
// their masks are shared by states with equal short lookahead, see token_constraint.hpp) and
// longer ones (1,918 of Qwen3's tokens exceed 16 bytes), walked per state.
//
// Ownership: owns copies of the byte strings and the tries; immutable after construction and
// safe to share between threads and constraints (hold it in a shared_ptr).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/byte_dfa.hpp>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::generate {

class token_trie {
 public:
  token_trie() = default;

  // Builds the trie of the given ids (their bytes non-empty, at most 65,535 bytes).
  token_trie(const std::vector<std::string>& bytes, std::vector<int32_t> ids) {
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      return bytes[a] != bytes[b] ? bytes[a] < bytes[b] : a < b;
    });
    std::vector<uint32_t> path;  // node index per depth-1
    const std::string* prev = nullptr;
    for (int32_t id : ids) {
      const std::string& cur = bytes[id];
      size_t lcp = 0;
      if (prev) {
        const size_t m = std::min(prev->size(), cur.size());
        while (lcp < m && (*prev)[lcp] == cur[lcp]) ++lcp;
      }
      path.resize(lcp);
      for (size_t d = lcp; d < cur.size(); ++d) {
        path.push_back(static_cast<uint32_t>(byte_.size()));
        byte_.push_back(static_cast<uint8_t>(cur[d]));
        depth_.push_back(static_cast<uint16_t>(d + 1));
        token_begin_.push_back(static_cast<uint32_t>(ids_.size()));
      }
      // The token ends at the newest node (duplicates of `prev` end at the same node).
      ids_.push_back(id);
      max_depth_ = std::max(max_depth_, cur.size());
      prev = &cur;
    }
    const size_t n = byte_.size();
    token_begin_.push_back(static_cast<uint32_t>(ids_.size()));
    subtree_end_.assign(n, static_cast<uint32_t>(n));
    std::vector<uint32_t> stack;
    for (uint32_t j = 0; j < n; ++j) {
      while (!stack.empty() && depth_[stack.back()] >= depth_[j]) {
        subtree_end_[stack.back()] = j;
        stack.pop_back();
      }
      stack.push_back(j);
    }
  }

  size_t nodes() const { return byte_.size(); }
  size_t max_depth() const { return max_depth_; }

  // Calls on_token(id, state_after_token) for every token whose bytes run from `start` without
  // reaching the dead state. Nodes whose prefix dies are skipped with their whole subtree.
  template <class OnToken>
  void walk(const byte_dfa& dfa, int32_t start, OnToken&& on_token) const {
    if (byte_.empty()) return;
    std::vector<int32_t> states(max_depth_ + 1);  // a cache-miss path: one allocation per walk
    states[0] = start;
    const size_t n = byte_.size();
    for (size_t i = 0; i < n;) {
      const uint16_t d = depth_[i];
      const int32_t s = dfa.next(states[d - 1], byte_[i]);
      if (s == byte_dfa::dead) {
        i = subtree_end_[i];
        continue;
      }
      states[d] = s;
      for (uint32_t k = token_begin_[i]; k < token_begin_[i + 1]; ++k) on_token(ids_[k], s);
      ++i;
    }
  }

  // Longest token whose bytes are a prefix of `text` (-1 if none); `length` gets its size.
  int32_t longest_prefix(std::string_view text, size_t* length) const {
    int32_t best = -1;
    size_t best_len = 0;
    size_t i = 0, end = byte_.size();
    for (size_t d = 0; d < text.size() && i < end; ++d) {
      // Siblings at depth d+1 within [i, end): hop subtree to subtree.
      const auto b = static_cast<uint8_t>(text[d]);
      while (i < end && byte_[i] != b) i = subtree_end_[i];
      if (i >= end) break;
      if (token_begin_[i] < token_begin_[i + 1]) {
        best = ids_[token_begin_[i]];
        best_len = d + 1;
      }
      end = subtree_end_[i];
      ++i;  // first child, if any, is the next node
    }
    if (length) *length = best_len;
    return best;
  }

 private:
  std::vector<uint8_t> byte_;
  std::vector<uint16_t> depth_;
  std::vector<uint32_t> subtree_end_;
  std::vector<uint32_t> token_begin_;  // nodes()+1 offsets into ids_
  std::vector<int32_t> ids_;
  size_t max_depth_ = 0;
};

class token_vocabulary {
 public:
  // `token_bytes[id]` are the raw bytes of token id; empty = never allowed. Tokens longer than
  // `short_token_bytes` go to the long-token trie.
  explicit token_vocabulary(std::vector<std::string> token_bytes, size_t short_token_bytes = 16)
      : bytes_(std::move(token_bytes)), short_limit_(short_token_bytes) {
    if (bytes_.empty()) throw config_error("token vocabulary is empty");
    if (bytes_.size() > static_cast<size_t>(INT32_MAX))
      throw config_error("token vocabulary larger than 2^31 ids");
    single_byte_.fill(-1);
    std::vector<int32_t> short_ids, long_ids;
    for (size_t id = 0; id < bytes_.size(); ++id) {
      const auto& b = bytes_[id];
      if (b.empty()) continue;
      if (b.size() > 65535)
        throw config_error("token " + std::to_string(id) + " is longer than 65,535 bytes");
      if (b.size() == 1 && single_byte_[static_cast<uint8_t>(b[0])] < 0)
        single_byte_[static_cast<uint8_t>(b[0])] = static_cast<int32_t>(id);
      (b.size() <= short_limit_ ? short_ids : long_ids).push_back(static_cast<int32_t>(id));
      max_bytes_ = std::max(max_bytes_, b.size());
    }
    short_ = token_trie(bytes_, std::move(short_ids));
    long_ = token_trie(bytes_, std::move(long_ids));
  }

  // Number of ids (the length of a logit vector).
  size_t size() const { return bytes_.size(); }
  std::string_view bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
  size_t short_token_bytes() const { return short_limit_; }
  size_t max_token_bytes() const { return max_bytes_; }
  // Id of a token made of exactly byte b, or -1.
  int32_t single_byte_token(uint8_t b) const { return single_byte_[b]; }
  const token_trie& short_tokens() const { return short_; }
  const token_trie& long_tokens() const { return long_; }

  // Longest token (over both tries) whose bytes are a prefix of `text`; -1 if none.
  int32_t longest_prefix(std::string_view text, size_t* length = nullptr) const {
    size_t ls = 0, ll = 0;
    const int32_t s = short_.longest_prefix(text, &ls);
    const int32_t l = long_.longest_prefix(text, &ll);
    const bool use_long = l >= 0 && ll > ls;
    if (length) *length = use_long ? ll : ls;
    return use_long ? l : s;
  }

 private:
  std::vector<std::string> bytes_;
  size_t short_limit_;
  size_t max_bytes_ = 0;
  std::array<int32_t, 256> single_byte_{};
  token_trie short_, long_;
};

}  // namespace edgecloud::generate
