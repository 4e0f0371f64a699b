// SPDX-License-Identifier: Apache-2.0
// Adapter: a KV-cache session (prefill / size / truncate, as model::session offers) seen as a
// RewindableLogitsSource.
//
// Tokens appended with advance() are only queued; the next logits() runs them in ONE batched
// prefill. So forced tokens of a constraint (emitted without reading logits) cost no decode
// step of their own: they ride along with the next token that needs the model. truncate(n)
// drops queued tokens or truncates the session's cache (O(1) there); if logits are then read
// at the truncated position, the last token is run again (one extra one-token step), which is
// why the adapter remembers the tokens it appended (including the ones given at construction).
//
// Ownership: references the session (which must outlive the adapter); owns its token history,
// reserved up front for `capacity` tokens so the decode loop does not allocate.
#pragma once

#include <concepts>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::generate {

template <class S>
concept PrefillSession = requires(S& s, const S& cs, std::span<const int32_t> tokens, size_t n) {
  { cs.size() } -> std::convertible_to<size_t>;
  { s.prefill(tokens) } -> std::convertible_to<std::span<const float>>;
  s.truncate(n);
};

template <PrefillSession Session>
class session_logits_source {
 public:
  // `tokens`: appended now (queued until the first logits()); e.g. the request's tokens after a
  // cached prefix already in the session. `capacity`: tokens this adapter may append in all.
  session_logits_source(Session& session, std::span<const int32_t> tokens = {},
                        size_t capacity = 4096)
      : session_(&session), base_(session.size()) {
    history_.reserve(std::max(capacity, tokens.size()));
    pending_.reserve(std::max(capacity, tokens.size()));
    for (int32_t t : tokens) advance(t);
  }

  // Logits for the next position: runs queued tokens in one prefill.
  std::span<const float> logits() {
    if (!pending_.empty()) {
      last_ = session_->prefill(std::span<const int32_t>(pending_));
      pending_.clear();
      valid_ = true;
      ++forward_passes_;
    } else if (!valid_) {
      const size_t p = session_->size();
      if (p == 0 || p - 1 < base_)
        throw config_error("session_logits_source: no logits for position " + std::to_string(p) +
                           " (its last token was not appended here)");
      const int32_t token = history_[p - 1 - base_];
      session_->truncate(p - 1);
      last_ = session_->prefill(std::span<const int32_t>(&token, 1));
      valid_ = true;
      ++forward_passes_;
    }
    return last_;
  }

  void advance(int32_t token) {
    history_.push_back(token);
    pending_.push_back(token);
  }

  // Tokens seen: the session's positions plus queued ones.
  size_t position() const { return session_->size() + pending_.size(); }

  void truncate(size_t n) {
    if (n >= position()) return;
    if (n < base_) {  // into what the session held before this adapter
      session_->truncate(n);
      base_ = n;
      history_.clear();
      pending_.clear();
      valid_ = false;
      return;
    }
    history_.resize(n - base_);
    if (n >= session_->size()) {
      pending_.resize(n - session_->size());
    } else {
      session_->truncate(n);
      pending_.clear();
      valid_ = false;
    }
  }

  size_t forward_passes() const { return forward_passes_; }

 private:
  Session* session_;
  size_t base_;
  std::vector<int32_t> history_, pending_;
  std::span<const float> last_;
  bool valid_ = false;
  size_t forward_passes_ = 0;
};

}  // namespace edgecloud::generate
