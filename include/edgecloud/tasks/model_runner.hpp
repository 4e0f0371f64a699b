// SPDX-License-Identifier: Apache-2.0
// model_runner: a model session seen as a rewindable, lazy LogitsSource (generate/concepts.hpp),
// with the prefix cache in front of it and a restricted output head beside it.
//
//   tasks::model_runner r(model);
//   r.begin(prompt_ids, fixed_prefix_length);   // reuse what is cached, compute the rest lazily
//   auto z = r.logits();                         // one batched prefill of everything pending
//
// Laziness. advance(token) only records the token; logits() (full output head) or hidden() (no
// head) runs every pending token in one batched prefill. A token the caller never asks logits
// after -- the forced tail of a constrained output, a label's last token -- is never computed.
//
// Prefix reuse, in begin(prompt, keep): the runner knows which tokens its session holds. It
// keeps the longest common prefix of those with the new prompt (the common case: the same task
// again), or, when the prefix cache holds a longer one, copies that in. The first `keep` tokens
// (the task's fixed instructions, a conversation's history) are then computed without logits
// and stored in the prefix cache if it does not hold them yet; the rest stays pending. Either
// way the KV rows are exactly what a fresh computation gives (prefix_cache.hpp says why), so
// logits do not depend on what was cached.
//
// Adapters: set_adapters(set) chooses the LoRA set of the following requests (model/lora.hpp).
// A set that computes differently drops what the session holds (its KV rows are the old set's)
// and the prefix cache is searched and filled under the new set's key, so nothing computed
// under one set is ever reused under another.
//
// Restricted head: candidate_logits(ids) = W_out[ids] . h, computing only those rows (the full
// head is the largest product of a step for a 151,936-token vocabulary). The values are the
// full head's (same kernel, same Q8_0 rounding of h), not normalised over the vocabulary.
//
// Ownership: borrows the model (must outlive the runner); owns its session, prefix cache and
// token list. Not thread-safe: one runner per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/generate/concepts.hpp>
#include <edgecloud/generate/prefix_cache.hpp>
#include <edgecloud/model/output_head.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/session.hpp>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::tasks {

struct runner_config {
  model::session_config session{.context = 2048, .threads = 0};
  generate::prefix_cache_config prefix_cache{};
};

struct runner_stats {
  size_t requests = 0;
  size_t prompt_tokens = 0;    // tokens of every begin() prompt
  size_t kept_tokens = 0;      // prompt tokens already in the session (common prefix)
  size_t restored_tokens = 0;  // prompt tokens copied back from the prefix cache
  size_t computed_tokens = 0;  // tokens run through the model
  size_t forward_passes = 0;   // prefill calls (one batched pass each)
};

// The model's output rows (model/output_head.hpp) as this layer's restricted head.
using model_output_head = model::output_head;
static_assert(generate::OutputHead<model_output_head>);

class model_runner {
 public:
  explicit model_runner(const model::qwen3& m, const runner_config& config = {})
      : model_(&m), session_(m, config.session), cache_(config.prefix_cache), head_(m) {
    tokens_.reserve(session_.config().context);
  }

  const model::qwen3& model() const noexcept { return *model_; }
  model::session& session() noexcept { return session_; }
  generate::prefix_cache& prefix_cache() noexcept { return cache_; }
  const runner_stats& stats() const noexcept { return stats_; }
  const model_output_head& output_head() const noexcept { return head_; }
  size_t n_vocab() const noexcept { return session_.n_vocab(); }
  size_t context() const noexcept { return session_.config().context; }
  // The LoRA adapters of the next requests (empty: the base model). Between requests.
  void set_adapters(const model::lora_set& set) {
    model::check_lora_set(set);
    if (model::make_lora_key(set) == session_.adapter_key()) return;  // the same computation
    session_.set_adapters(set);  // drops the positions computed under the old set
    tokens_.clear();
    computed_ = 0;
    fresh_ = false;
  }
  const model::lora_set& adapters() const noexcept { return session_.adapters(); }

  // Every token appended so far (computed or pending).
  std::span<const int32_t> tokens() const noexcept { return tokens_; }

  // Starts a request whose tokens are `prompt`, the first `keep` of which are worth caching.
  void begin(std::span<const int32_t> prompt, size_t keep = 0) {
    if (prompt.empty()) throw config_error("model_runner::begin: empty prompt");
    if (prompt.size() > context())
      throw capacity_error("prompt of " + std::to_string(prompt.size()) +
                           " tokens does not fit the context of " + std::to_string(context()) +
                           " (runner_config::session.context)");
    ++stats_.requests;
    stats_.prompt_tokens += prompt.size();
    keep = std::min(keep, prompt.size() - 1);  // the last prompt token must run for its logits
    // What the session already holds, and what the prefix cache could give.
    const size_t held =
        std::min(generate::prefix_cache::common_prefix({tokens_.data(), computed_}, prompt),
                 prompt.size() - 1);
    const model::lora_key& adapters = session_.adapter_key();
    auto m = cache_.find(prompt.first(prompt.size() - 1), adapters);
    if (m.length > held) {
      cache_.restore(m, session_.mutable_cache());
      computed_ = m.length;
      stats_.restored_tokens += m.length;
    } else {
      session_.truncate(held);
      computed_ = held;
      stats_.kept_tokens += held;
    }
    tokens_.assign(prompt.begin(), prompt.begin() + static_cast<ptrdiff_t>(computed_));
    if (keep > computed_) {
      run(prompt.subspan(computed_, keep - computed_), model::logits_mode::none);
      tokens_.assign(prompt.begin(), prompt.begin() + static_cast<ptrdiff_t>(keep));
    }
    if (keep >= cache_.config().min_tokens && !cache_.covers(prompt.first(keep), adapters))
      cache_.insert(prompt.first(keep), session_.cache(), adapters);
    tokens_.insert(tokens_.end(), prompt.begin() + static_cast<ptrdiff_t>(tokens_.size()),
                   prompt.end());
    fresh_ = false;
  }

  // --- LogitsSource / RewindableLogitsSource ---------------------------------------------------
  void advance(int32_t token) {
    if (tokens_.size() >= context())
      throw capacity_error("model_runner: the context of " + std::to_string(context()) +
                           " tokens is full");
    tokens_.push_back(token);
    fresh_ = false;
  }
  size_t position() const noexcept { return tokens_.size(); }
  void truncate(size_t n) {
    if (n >= tokens_.size()) return;
    tokens_.resize(n);
    if (n < computed_) {
      session_.truncate(n);
      computed_ = n;
    }
    fresh_ = false;
  }
  // Logits for the next position (full vocabulary). Valid until the next call that changes
  // the runner.
  std::span<const float> logits() {
    if (!(fresh_ && fresh_logits_)) {
      last_ = compute(model::logits_mode::last);
      fresh_logits_ = true;
    }
    return last_;
  }

  // --- restricted head -------------------------------------------------------------------------
  // Final-normed hidden state for the next position, computed without the output head.
  std::span<const float> hidden() {
    if (!fresh_) {
      compute(model::logits_mode::none);
      fresh_logits_ = false;
    }
    return session_.output_hidden();
  }
  // out[k] = logit of ids[k] for the next position, computing only those rows of the head.
  void candidate_logits(std::span<const int32_t> ids, std::span<float> out) {
    const auto h = hidden();
    head_.bind(h);
    if (ids.size() != out.size())
      throw config_error("candidate_logits: ids and output differ in length");
    for (size_t k = 0; k < ids.size(); ++k) {
      if (ids[k] < 0 || static_cast<size_t>(ids[k]) >= head_.rows())
        throw config_error("candidate_logits: id " + std::to_string(ids[k]) +
                           " outside the vocabulary");
      out[k] = head_.row_dot(ids[k], h);
    }
  }

 private:
  // Runs the pending tokens (recomputing the last one when nothing is pending).
  std::span<const float> compute(model::logits_mode mode) {
    if (tokens_.empty()) throw config_error("model_runner: no tokens (call begin first)");
    if (computed_ == tokens_.size()) {  // everything computed, but its outputs were dropped
      session_.truncate(--computed_);
    }
    const auto out = run({tokens_.data() + computed_, tokens_.size() - computed_}, mode);
    fresh_ = true;
    return out;
  }

  std::span<const float> run(std::span<const int32_t> t, model::logits_mode mode) {
    ++stats_.forward_passes;
    stats_.computed_tokens += t.size();
    const auto out = session_.prefill(t, mode);
    computed_ += t.size();
    return out;
  }

  const model::qwen3* model_;
  model::session session_;
  generate::prefix_cache cache_;
  model_output_head head_;
  std::vector<int32_t> tokens_;  // everything appended: [0, computed_) is in the KV cache
  size_t computed_ = 0;
  bool fresh_ = false;         // the session's outputs are for tokens_ as it is now
  bool fresh_logits_ = false;  // ... and they include the full logits
  std::span<const float> last_;
  runner_stats stats_;
};

static_assert(generate::RewindableLogitsSource<model_runner>);

}  // namespace edgecloud::tasks
