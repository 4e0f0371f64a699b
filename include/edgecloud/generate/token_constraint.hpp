// SPDX-License-Identifier: Apache-2.0
// A byte automaton bound to a vocabulary: token masks per state, cached, with the token budget
// enforced, and the decoding step API built on it (constrained_decoder).
//
// Masks. Token t is allowed in state s iff its bytes run from s without dying (the automaton is
// trimmed, so "alive" means "can still be completed"). Computing that is a walk of the token
// trie against the automaton (token_vocabulary.hpp); it is done once per state and cached, so
// the per-token cost of decoding is a table lookup. To walk far fewer than one trie per state,
// states are grouped by their behaviour on strings of at most `short_token_bytes` bytes
// (byte_dfa::lookahead_classes): all states of a group share one mask for the short tokens, and
// only the few long tokens are walked per state. Inside a JSON string of maxLength 64, the ~50
// positions that still have room for 16 more characters all share one short-token mask.
//
// Budget. need(s) = fewest tokens that complete the output from s, counting the end token when
// one is needed: accepting and terminal -> 0; accepting with an end token -> 1; otherwise
// 1 + min over bytes. Counting a byte as a token is an upper bound on the tokens really needed,
// valid because the constructor checks that every byte on a shortest path is itself a token (a
// byte-level vocabulary has all 256). With R tokens left, a token is allowed only if it leads to
// a state d with need(d) <= R - 1, so need(s) <= R holds at every step and the output always
// ends within the budget. The check needs a walk only when it can matter: per state, an upper
// bound on need() over every state reachable within one token (max over `max_token_bytes` bytes
// of lookahead) tells when R is large enough for the cached structural mask to be used as is;
// below it a budget-filtered mask is walked and cached per (state, R - 1).
//
// Forced tokens. When a state leaves by a single byte (e.g. `"arguments": ` after a tool name
// is fixed) the longest token spelling a prefix of that forced byte run is emitted without the
// model; so is the only token of a mask with one bit. A generation loop skips the forward pass
// for those (the model still has to see the token, e.g. batched with the next step).
//
// Ownership and threads: owns the automaton and its caches; shares the vocabulary. Not
// thread-safe (caches fill lazily): use one per thread or call precompute() first... and still
// one per thread. A reference returned by allowed() stays valid until the next call to it.
#pragma once

#include <deque>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/byte_dfa.hpp>
#include <edgecloud/generate/token_mask.hpp>
#include <edgecloud/generate/token_vocabulary.hpp>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace edgecloud::generate {

class token_constraint {
 public:
  using state = int32_t;
  static constexpr int32_t no_end_token = -1;

  struct cache_stats {
    size_t trie_walks = 0;        // walks of either trie (cache misses)
    size_t masks = 0;             // masks held
    size_t bytes = 0;             // memory held by masks
    size_t lookahead_groups = 0;  // groups of states sharing a short-token mask
  };

  // `end_token`: an id whose bytes are empty in `vocab`, allowed in accepting states that could
  // continue (e.g. after the label "yes" when "yes!" is also allowed); without one (-1), the
  // output ends at the first accepting state. Tight budget masks are dropped when the cache
  // exceeds `max_cache_bytes`.
  token_constraint(byte_dfa dfa, std::shared_ptr<const token_vocabulary> vocab,
                   int32_t end_token = no_end_token, size_t max_cache_bytes = size_t{512} << 20)
      : dfa_(std::move(dfa)),
        vocab_(std::move(vocab)),
        end_(end_token),
        max_cache_bytes_(max_cache_bytes) {
    if (!vocab_) throw config_error("token_constraint: no vocabulary");
    if (end_ != no_end_token &&
        (end_ < 0 || static_cast<size_t>(end_) >= vocab_->size() || !vocab_->bytes(end_).empty()))
      throw config_error("token_constraint: end token " + std::to_string(end_) +
                         " must be an id of the vocabulary with no bytes (a special token)");
    compute_need();
    check_single_bytes();
    classes_ = dfa_.lookahead_classes(vocab_->short_token_bytes(), &n_classes_);
    compute_reach_bound();
    class_mask_.assign(n_classes_, -1);
    state_mask_.assign(dfa_.size(), -1);
    forced_run_.assign(dfa_.size(), -2);
  }

  state start() const { return dfa_.start(); }
  const byte_dfa& automaton() const { return dfa_; }
  const token_vocabulary& vocabulary() const { return *vocab_; }
  const std::shared_ptr<const token_vocabulary>& shared_vocabulary() const { return vocab_; }
  int32_t end_token() const { return end_; }
  size_t vocab_size() const { return vocab_->size(); }

  // Nothing may follow: the output is complete.
  bool finished(state s) const {
    return dfa_.terminal(s) || (end_ == no_end_token && dfa_.accepting(s));
  }
  // The end token is allowed here.
  bool can_end(state s) const { return end_ != no_end_token && dfa_.accepting(s); }
  // Fewest tokens that complete the output from s (end token included when needed).
  uint32_t tokens_to_finish(state s) const { return need_[s]; }
  // Largest tokens_to_finish() of any state one token away from s can have (upper bound).
  uint32_t reach_bound(state s) const { return reach_[s]; }

  // State after `token` from s, or dead if its bytes leave the language (the end token and
  // byte-less ids are dead too: ending is the caller's business).
  state next(state s, int32_t token) const {
    if (token < 0 || static_cast<size_t>(token) >= vocab_->size()) return byte_dfa::dead;
    const auto b = vocab_->bytes(token);
    if (b.empty()) return byte_dfa::dead;
    return dfa_.run(s, b);
  }

  // Allowed tokens in s with `remaining` tokens of budget left (remaining >= tokens_to_finish(s)
  // >= 1 and s not finished). Valid until the next call.
  const token_mask& allowed(state s, size_t remaining) {
    if (remaining == 0 || remaining < need_[s])
      throw capacity_error("token budget exhausted: " + std::to_string(remaining) +
                           " tokens left, " + std::to_string(need_[s]) + " needed to finish");
    const size_t limit = remaining - 1;
    if (limit >= reach_[s]) return structural(s);
    return tight(s, static_cast<uint32_t>(limit));
  }

  // A token to emit without consulting the model (the only allowed one, or the longest token
  // spelling the forced byte run from s), or -1.
  int32_t forced_token(state s, size_t remaining) {
    const int32_t run = forced_run_token(s);
    if (run >= 0) return run;  // need falls by exactly its length: always within budget
    const token_mask& m = allowed(s, remaining);
    return m.count == 1 ? m.single : -1;
  }

  // Fills the structural mask of every state (e.g. at load time, before serving).
  void precompute() {
    for (state s = 0; s < static_cast<state>(dfa_.size()); ++s)
      if (!finished(s)) structural(s);
  }

  cache_stats stats() const {
    cache_stats st;
    st.trie_walks = walks_;
    st.masks = masks_.size() + tight_masks_.size();
    st.bytes = st.masks * ((vocab_->size() + 63) / 64) * 8;
    st.lookahead_groups = n_classes_;
    return st;
  }

 private:
  static constexpr uint32_t inf = byte_dfa::unreachable;

  void compute_need() {
    const size_t n = dfa_.size(), k = dfa_.class_count();
    std::vector<std::vector<int32_t>> preds(n);
    for (size_t s = 0; s < n; ++s)
      for (size_t c = 0; c < k; ++c) {
        const int32_t t = dfa_.next_class(static_cast<int32_t>(s), c);
        if (t != byte_dfa::dead) preds[t].push_back(static_cast<int32_t>(s));
      }
    need_.assign(n, inf);
    cost0_.assign(n, inf);
    std::vector<std::vector<int32_t>> buckets(2);
    for (size_t s = 0; s < n; ++s) {
      if (!dfa_.accepting(static_cast<int32_t>(s))) continue;
      cost0_[s] = finished(static_cast<int32_t>(s)) ? 0 : 1;
      need_[s] = cost0_[s];
      buckets[cost0_[s]].push_back(static_cast<int32_t>(s));
    }
    for (size_t d = 0; d < buckets.size(); ++d) {
      for (size_t i = 0; i < buckets[d].size(); ++i) {
        const int32_t s = buckets[d][i];
        if (need_[s] != d) continue;
        for (int32_t p : preds[s])
          if (need_[p] > d + 1) {
            need_[p] = static_cast<uint32_t>(d + 1);
            if (buckets.size() <= d + 1) buckets.resize(d + 2);
            buckets[d + 1].push_back(p);
          }
      }
    }
  }

  // Every shortest completion must be spellable byte by byte with single-byte tokens.
  void check_single_bytes() const {
    for (state s = 0; s < static_cast<state>(dfa_.size()); ++s) {
      if (finished(s) || need_[s] == cost0_[s]) continue;
      bool ok = false;
      for (int b = 0; b < 256 && !ok; ++b) {
        const state t = dfa_.next(s, static_cast<uint8_t>(b));
        ok = t != byte_dfa::dead && need_[t] + 1 == need_[s] &&
             vocab_->single_byte_token(static_cast<uint8_t>(b)) >= 0;
      }
      if (!ok)
        throw config_error(
            "token_constraint: the vocabulary lacks a single-byte token needed to "
            "finish outputs within the budget (byte-level vocabularies have all "
            "256)");
    }
  }

  // reach_[s] >= need(d) for every d reachable from s by 1..max_token_bytes bytes.
  void compute_reach_bound() {
    const size_t n = dfa_.size(), k = dfa_.class_count();
    std::vector<uint32_t> m(need_);
    const size_t rounds = std::max<size_t>(1, vocab_->max_token_bytes());
    for (size_t r = 1; r < rounds; ++r) {  // m[s] >= max need within r bytes (in-place: more)
      bool changed = false;
      for (size_t s = 0; s < n; ++s) {
        uint32_t v = m[s];
        for (size_t c = 0; c < k; ++c) {
          const int32_t t = dfa_.next_class(static_cast<int32_t>(s), c);
          if (t != byte_dfa::dead && m[t] > v) v = m[t];
        }
        if (v != m[s]) {
          m[s] = v;
          changed = true;
        }
      }
      if (!changed) break;
    }
    reach_.assign(n, 0);
    for (size_t s = 0; s < n; ++s)
      for (size_t c = 0; c < k; ++c) {
        const int32_t t = dfa_.next_class(static_cast<int32_t>(s), c);
        if (t != byte_dfa::dead) reach_[s] = std::max(reach_[s], m[t]);
      }
  }

  const token_mask& structural(state s) {
    if (state_mask_[s] >= 0) return masks_[state_mask_[s]];
    const uint32_t group = classes_[s];
    if (class_mask_[group] < 0) {
      token_mask m(vocab_->size());
      ++walks_;
      vocab_->short_tokens().walk(dfa_, s, [&](int32_t id, int32_t) { m.set(id); });
      if (can_end(s)) m.set(end_);
      m.finish();
      class_mask_[group] = static_cast<int32_t>(masks_.size());
      masks_.push_back(std::move(m));
    }
    std::vector<int32_t> longs;
    if (vocab_->long_tokens().nodes()) {
      ++walks_;
      vocab_->long_tokens().walk(dfa_, s, [&](int32_t id, int32_t) { longs.push_back(id); });
    }
    if (longs.empty()) {
      state_mask_[s] = class_mask_[group];
    } else {
      auto key = std::make_pair(group, std::move(longs));
      auto it = composite_.find(key);
      if (it == composite_.end()) {
        token_mask m = masks_[class_mask_[group]];
        for (int32_t id : key.second) m.set(id);
        m.finish();
        it = composite_.emplace(std::move(key), static_cast<int32_t>(masks_.size())).first;
        masks_.push_back(std::move(m));
      }
      state_mask_[s] = it->second;
    }
    return masks_[state_mask_[s]];
  }

  const token_mask& tight(state s, uint32_t limit) {
    const uint64_t key = (static_cast<uint64_t>(s) << 32) | limit;
    if (auto it = tight_index_.find(key); it != tight_index_.end()) return tight_masks_[it->second];
    const size_t words = (vocab_->size() + 63) / 64;
    if ((masks_.size() + tight_masks_.size() + 1) * words * 8 > max_cache_bytes_) {
      tight_masks_.clear();
      tight_index_.clear();
    }
    token_mask m(vocab_->size());
    auto keep = [&](int32_t id, int32_t dest) {
      if (need_[dest] <= limit) m.set(id);
    };
    walks_ += 2;
    vocab_->short_tokens().walk(dfa_, s, keep);
    vocab_->long_tokens().walk(dfa_, s, keep);
    if (can_end(s)) m.set(end_);
    m.finish();
    tight_index_.emplace(key, tight_masks_.size());
    tight_masks_.push_back(std::move(m));
    return tight_masks_.back();
  }

  int32_t forced_run_token(state s) {
    if (forced_run_[s] != -2) return forced_run_[s];
    int32_t id = -1;
    if (!dfa_.accepting(s) && dfa_.single_byte(s) >= 0) {
      std::string run;
      state t = s;
      while (!dfa_.accepting(t) && dfa_.single_byte(t) >= 0 &&
             run.size() < vocab_->max_token_bytes()) {
        run.push_back(static_cast<char>(dfa_.single_byte(t)));
        t = dfa_.next(t, static_cast<uint8_t>(run.back()));
      }
      id = vocab_->longest_prefix(run);
    }
    forced_run_[s] = id;
    return id;
  }

  byte_dfa dfa_;
  std::shared_ptr<const token_vocabulary> vocab_;
  int32_t end_;
  size_t max_cache_bytes_;
  std::vector<uint32_t> need_, cost0_, reach_, classes_;
  uint32_t n_classes_ = 0;
  std::deque<token_mask> masks_;
  std::vector<int32_t> class_mask_, state_mask_, forced_run_;
  std::map<std::pair<uint32_t, std::vector<int32_t>>, int32_t> composite_;
  std::deque<token_mask> tight_masks_;
  std::unordered_map<uint64_t, size_t> tight_index_;
  size_t walks_ = 0;
};

// One constrained output being decoded: state, remaining budget and the step API that
// constrained_generate (and any sampler) drives. Holds a reference to the constraint.
class constrained_decoder {
 public:
  // Throws capacity_error when `budget` tokens cannot complete any output.
  constrained_decoder(token_constraint& c, size_t budget)
      : c_(&c), state_(c.start()), remaining_(budget) {
    if (budget < c.tokens_to_finish(state_))
      throw capacity_error("token budget " + std::to_string(budget) +
                           " is below the shortest valid output (" +
                           std::to_string(c.tokens_to_finish(state_)) + " tokens)");
  }

  bool done() const { return ended_ || c_->finished(state_); }
  bool ended_with_end_token() const { return ended_; }
  size_t remaining() const { return remaining_; }
  token_constraint::state state() const { return state_; }
  // Token that needs no model call, or -1.
  int32_t forced() { return c_->forced_token(state_, remaining_); }
  const token_mask& mask() { return c_->allowed(state_, remaining_); }

  // Advances by `token`; throws config_error if it is not allowed (a caller bug).
  void accept(int32_t token) {
    if (done()) throw config_error("constrained_decoder: output already complete");
    if (token == c_->end_token() && c_->can_end(state_)) {
      ended_ = true;
      --remaining_;
      return;
    }
    const auto t = c_->next(state_, token);
    if (t == byte_dfa::dead || c_->tokens_to_finish(t) + 1 > remaining_)
      throw config_error("constrained_decoder: token " + std::to_string(token) +
                         " is not allowed here");
    state_ = t;
    --remaining_;
  }

 private:
  token_constraint* c_;
  token_constraint::state state_;
  size_t remaining_;
  bool ended_ = false;
};

}  // namespace edgecloud::generate
