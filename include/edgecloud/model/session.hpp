// SPDX-License-Identifier: Apache-2.0
// A generation session over a Qwen3/Qwen2 model: KV cache, activation arena, thread pool.
//
//   auto model = edgecloud::model::qwen3::load("qwen3-0.6b-q8_0.gguf");
//   edgecloud::model::session s(model, {.context = 2048, .threads = 2});
//   auto out = s.generate(prompt_ids, 64, {eos}, [](int32_t t) { print(t); });
//
// prefill(tokens) runs all positions of a chunk (up to max_batch) in one batched pass: every
// weight matrix is streamed once per chunk with kernels::matmul instead of once per token, which
// is what makes prompt processing several times faster than decoding. decode_step(token) is the
// one-position case (kernels::matvec).
//
// Ownership: the session borrows the model (which must outlive it) and owns its KV cache, its
// thread pool and one arena of activation buffers sized at construction from the model shape
// and the config: nothing is allocated by prefill, decode_step or generate afterwards (a test
// counts operator new calls to hold that).
//
// A session is used from one thread at a time; several sessions may share one model (the model
// is immutable after loading), each with its own pool.
//
// Threads: each product is cut into row blocks (16-row multiples, a few per thread) that the
// pool's threads claim; the input activations are rounded to Q8_0 once per product (when the
// weight is Q8_0) and shared by every thread. Attention tasks are (position, head) pairs.
//
// LoRA (model/lora.hpp): set_adapters(set) chooses the adapters applied from the next token on,
// unmerged: for each adapted projection y = W x + sum_a s_a B_a (A_a x). The low-rank halves
// run in two steps around the base product: first T_a = s_a A_a X for every adapter of the
// projections that share an input (q/k/v, o, gate/up, down: one pool fork, one task per
// (adapter, projection), kernels::matvec/matmul with A as the weight), then, inside each base
// product task, Y[i, r] += B_a[r, :] . T_a[i, :] for the task's own rows r (B's rows split
// exactly as W's, so no thread writes another's rows). Scratch (T, the B products, one
// dequantized B row per thread) is sized by set_adapters from the set's ranks, or up front from
// session_config::lora_max_rank: the token loop allocates nothing with adapters active either.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/concepts.hpp>
#include <edgecloud/model/kv_cache.hpp>
#include <edgecloud/model/lora.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <edgecloud/model/thread_pool.hpp>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace edgecloud::model {

struct session_config {
  size_t context = 0;  // KV positions; 0 = min(model context_length, 4096)
  kernels::dtype kv_type = kernels::dtype::f16;  // f16 (half the memory) or f32 (exact)
  size_t threads = 0;      // including the caller; 0 = std::thread::hardware_concurrency()
  size_t max_batch = 256;  // positions per prefill pass; activations: ~57 KB each for 0.6B
  size_t logits_rows = 1;  // positions whose logits prefill(.., logits_mode::all) can keep
  // LoRA scratch reserved at construction for adapter sets whose ranks on one projection add
  // up to at most this (e.g. 32: two rank-16 adapters); 0 = sized by set_adapters.
  size_t lora_max_rank = 0;
};

// last: logits of the last new position; all: of every new position (up to logits_rows);
// none: no output head at all -- output_hidden() gives the vector it would multiply, for callers
// that need only a few logits (generate/restricted_head.hpp).
enum class logits_mode { last, all, none };

template <KvCache Cache = kv_cache>
class basic_session {
 public:
  basic_session(const qwen3& model, session_config config = {})
      : model_(&model),
        config_(normalized(model, config)),
        cache_(kv_shape{model.config().n_layers, model.config().n_head_kv, model.config().head_dim},
               config_.context, config_.kv_type),
        pool_(std::make_unique<thread_pool>(config_.threads)),
        tasks_(pool_->size() == 1 ? 1 : pool_->size() * tasks_per_thread) {
    config_.context = cache_.capacity();
    allocate_arena();
    // q/k/v, the widest group, holds three T per adapter.
    if (config_.lora_max_rank > 0) reserve_lora(3 * config_.lora_max_rank, config_.lora_max_rank);
  }

  basic_session(basic_session&&) noexcept = default;

  const qwen3& model() const noexcept { return *model_; }
  const session_config& config() const noexcept { return config_; }
  const Cache& cache() const noexcept { return cache_; }
  size_t size() const noexcept { return cache_.size(); }  // positions in the cache
  size_t n_vocab() const noexcept { return model_->config().n_vocab; }
  size_t threads() const noexcept { return pool_->size(); }
  // Bytes of the activation arena (the KV cache reports its own with cache().bytes()).
  size_t arena_bytes() const noexcept { return arena_bytes_; }
  // Bytes of the LoRA scratch (0 until an adapter set or lora_max_rank needs it).
  size_t lora_scratch_bytes() const noexcept { return lora_scratch_floats_ * sizeof(float); }

  // The adapters applied from the next prefill/decode_step on (model/lora.hpp); empty = the
  // base model. Between requests only: when the set computes differently from the current one
  // (another make_lora_key), the KV positions computed under the old set are dropped
  // (truncate(0)), since every later position would attend to them. Bindings with scale 0 are
  // skipped. Throws model_error for an adapter validated against another base shape,
  // config_error for a null adapter or a non-finite scale (nothing changed then). Allocates only
  // here, and only when the set needs more scratch than the session has.
  void set_adapters(const lora_set& set) {
    check_lora_set(set);
    const qwen3_config& c = model_->config();
    for (const lora_binding& b : set)
      if (!b.adapter->fits(c))
        throw model_error("LoRA " + b.adapter->name() +
                          " was made for another base model shape than this session's");
    lora_key key = make_lora_key(set);
    // Operations per (layer, target), T offsets per projection group, scratch needs.
    std::vector<lora_op> ops;
    std::vector<uint32_t> begin(c.n_layers * n_lora_targets + 1, 0);
    std::vector<uint8_t> q8(c.n_layers * n_groups, 0);
    size_t widest_group = 0, max_rank = 0;
    for (size_t l = 0; l < c.n_layers; ++l) {
      size_t group_sum[n_groups] = {};
      for (size_t t = 0; t < n_lora_targets; ++t) {
        begin[l * n_lora_targets + t] = static_cast<uint32_t>(ops.size());
        const size_t g = group_of(static_cast<lora_target>(t));
        for (const lora_binding& b : set) {
          if (b.scale == 0.0f) continue;
          const lora_pair& p = b.adapter->pair(l, static_cast<lora_target>(t));
          if (!p) continue;
          ops.push_back({&p, b.adapter->scale_for(b.scale, p.rank), group_sum[g]});
          group_sum[g] += p.rank;
          max_rank = std::max(max_rank, p.rank);
          if (p.a.quantized()) q8[l * n_groups + g] = 1;
        }
      }
      for (size_t g = 0; g < n_groups; ++g) widest_group = std::max(widest_group, group_sum[g]);
    }
    begin.back() = static_cast<uint32_t>(ops.size());
    reserve_lora(widest_group, max_rank);
    if (key != lora_key_ && cache_.size() > 0) truncate(0);
    lora_set_ = set;
    lora_key_ = std::move(key);
    lora_ops_ = std::move(ops);
    lora_begin_ = std::move(begin);
    lora_q8_ = std::move(q8);
  }
  void clear_adapters() { set_adapters({}); }
  const lora_set& adapters() const noexcept { return lora_set_; }
  // make_lora_key(adapters()): what the KV rows of this session were computed under.
  const lora_key& adapter_key() const noexcept { return lora_key_; }

  // Appends `tokens` at positions size() .. size()+n-1 and returns the logits of the last one.
  // With logits_mode::all, the logits of every new position are kept (at most
  // config().logits_rows of them) and readable with logits(position).
  // Throws capacity_error (nothing changed) when the tokens do not fit the cache, text_error for
  // a token id outside the vocabulary.
  std::span<const float> prefill(std::span<const int32_t> tokens,
                                 logits_mode mode = logits_mode::last) {
    if (tokens.empty()) throw config_error("prefill needs at least one token");
    cache_.require_room(tokens.size());
    if (mode == logits_mode::all && tokens.size() > config_.logits_rows)
      throw capacity_error("prefill of " + std::to_string(tokens.size()) +
                           " tokens with all logits needs session_config::logits_rows >= " +
                           std::to_string(tokens.size()) + " (is " +
                           std::to_string(config_.logits_rows) + ")");
    for (int32_t t : tokens) check_token(t);
    check_files();  // a file truncated or rewritten under the mapping: model_error, nothing changed
    const size_t start = cache_.size();
    for (size_t done = 0; done < tokens.size(); done += config_.max_batch) {
      const size_t m = std::min(config_.max_batch, tokens.size() - done);
      const bool last_chunk = done + m == tokens.size();
      const size_t rows = mode == logits_mode::all    ? logits_rows_all
                          : !last_chunk                  ? 0
                          : mode == logits_mode::none    ? hidden_row_only
                                                         : logits_row_last;
      forward(tokens.subspan(done, m), mode == logits_mode::all ? done : 0, rows);
    }
    if (files_faulted()) {  // a read faulted mid-pass (SIGBUS guard): these positions are void
      cache_.truncate(start);
      logits_count_ = 0;
      hidden_valid_ = false;
      check_files();  // throws, naming the file
      throw model_error("a weight file faulted while being read");
    }
    logits_first_ = mode == logits_mode::all ? start : cache_.size() - 1;
    logits_count_ = mode == logits_mode::all ? tokens.size() : mode == logits_mode::none ? 0 : 1;
    hidden_valid_ = true;
    if (mode == logits_mode::none) return {};
    return logits(cache_.size() - 1);
  }

  // Final-normed hidden state of the last position of the last prefill/decode_step
  // (rmsnorm(x) * output_norm: what the output head multiplies, logits = W_out h), n_embd
  // floats. Valid until the next prefill/decode_step/truncate.
  std::span<const float> output_hidden() const {
    if (!hidden_valid_)
      throw config_error("no hidden state kept (call prefill or decode_step first)");
    return {hidden_row_, model_->config().n_embd};
  }

  // The KV cache for callers that copy computed positions in and out (prefix reuse,
  // generate/prefix_cache.hpp). Whatever is written into positions [0, size) must be what this
  // model computed for the tokens there; kept logits and the hidden state are dropped.
  Cache& mutable_cache() noexcept {
    logits_count_ = 0;
    hidden_valid_ = false;
    return cache_;
  }

  // Appends one token and returns the logits of its position.
  std::span<const float> decode_step(int32_t token) {
    const int32_t one[1] = {token};
    return prefill(std::span<const int32_t>(one, 1));
  }

  // Logits of absolute position `position`, if the last prefill/decode_step kept them.
  std::span<const float> logits(size_t position) const {
    if (position < logits_first_ || position >= logits_first_ + logits_count_)
      throw config_error("no logits kept for position " + std::to_string(position) +
                         " (use prefill with logits_mode::all for every position)");
    return {logits_ + (position - logits_first_) * n_vocab(), n_vocab()};
  }
  // Logits of the last position the last prefill/decode_step computed.
  std::span<const float> last_logits() const {
    if (logits_count_ == 0)
      throw config_error("no logits: prefill or decode_step first (truncate forgets them)");
    return logits(logits_first_ + logits_count_ - 1);
  }

  // Forgets positions >= n (O(1)); the next prefill continues at position n.
  void truncate(size_t n) noexcept {
    cache_.truncate(n);
    logits_count_ = 0;
    hidden_valid_ = false;
  }
  void clear() noexcept { truncate(0); }

  // Greedy decoding: prefills `prompt` (may be empty to continue after earlier calls), then
  // picks the highest logit up to `max_tokens` times. A token in `stop_tokens` ends generation
  // and is neither returned nor passed to the callback. `on_token(token)` is called for every
  // generated token; if it returns bool, false stops generation (that token is kept).
  // The last returned token is NOT yet in the cache: a follow-up call passes it in `prompt`.
  // Allocates only the returned vector (reserved up front).
  template <class OnToken>
  std::vector<int32_t> generate(std::span<const int32_t> prompt, size_t max_tokens,
                                std::span<const int32_t> stop_tokens, OnToken&& on_token) {
    return generate_with([](std::span<const float> l) { return argmax(l); }, prompt, max_tokens,
                         stop_tokens, std::forward<OnToken>(on_token));
  }

  // The same loop with another token chooser: `choose(logits)` returns the next id (a sampler,
  // generate/sampler.hpp, or a constrained step). Greedy generate() is choose = argmax.
  template <class Choose, class OnToken>
  std::vector<int32_t> generate_with(Choose&& choose, std::span<const int32_t> prompt, size_t max_tokens,
                                     std::span<const int32_t> stop_tokens, OnToken&& on_token) {
    std::vector<int32_t> out;
    out.reserve(max_tokens);
    if (max_tokens == 0) return out;
    std::span<const float> l = prompt.empty() ? last_logits() : prefill(prompt);
    for (;;) {
      const int32_t next = choose(l);
      if (next < 0 || static_cast<size_t>(next) >= n_vocab())
        throw config_error("generate: the chooser returned id " + std::to_string(next) +
                           ", outside the vocabulary");
      if (std::find(stop_tokens.begin(), stop_tokens.end(), next) != stop_tokens.end()) break;
      out.push_back(next);
      if constexpr (std::is_same_v<std::invoke_result_t<OnToken&, int32_t>, bool>) {
        if (!on_token(next)) break;
      } else {
        on_token(next);
      }
      if (out.size() >= max_tokens) break;
      l = decode_step(next);
    }
    return out;
  }
  std::vector<int32_t> generate(std::span<const int32_t> prompt, size_t max_tokens,
                                std::span<const int32_t> stop_tokens = {}) {
    return generate(prompt, max_tokens, stop_tokens, [](int32_t) {});
  }

  // Throws model_error when the model's or an active adapter's file changed under its mapping
  // (model/mapped_file.hpp); prefill calls it before computing. One fstat per file.
  void check_files() const {
    model_->check_intact();
    for (const lora_binding& b : lora_set_) b.adapter->check_intact();
  }

  // Index of the largest logit (the first one on ties).
  static int32_t argmax(std::span<const float> l) noexcept {
    return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  }

 private:
  static constexpr size_t logits_rows_all = ~size_t{0};  // keep every row of the chunk
  static constexpr size_t logits_row_last = 1;           // keep the chunk's last row
  static constexpr size_t hidden_row_only = ~size_t{0} - 1;  // last row's normed state, no head
  // Each product is cut into this many row blocks per thread; threads claim blocks, so a
  // descheduled thread's share is taken by the others (see thread_pool.hpp).
  static constexpr size_t tasks_per_thread = 4;

  bool files_faulted() const noexcept {
    if (model_->faulted()) return true;
    for (const lora_binding& b : lora_set_)
      if (b.adapter->faulted()) return true;
    return false;
  }
  static session_config normalized(const qwen3& model, session_config c) {
    if (c.context == 0) c.context = std::min<size_t>(model.config().n_ctx_train, 4096);
    if constexpr (requires { Cache::is_static; }) {
      if constexpr (Cache::is_static) c.context = 0;  // the cache's own capacity
    }
    if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
    if (c.max_batch == 0) c.max_batch = 1;
    if (c.logits_rows == 0) c.logits_rows = 1;
    return c;
  }

  void check_token(int32_t t) const {
    if (t < 0 || static_cast<size_t>(t) >= n_vocab())
      throw text_error("token id " + std::to_string(t) + " is outside the vocabulary of " +
                       std::to_string(n_vocab()));
  }

  void allocate_arena() {
    const qwen3_config& c = model_->config();
    const size_t B = config_.max_batch;
    const size_t widest = std::max({c.n_embd, c.q_dim(), c.n_ff});
    size_t floats = 0;
    auto take = [&](size_t n) {
      const size_t at = floats;
      floats += (n + 15) / 16 * 16;  // keep every buffer 64-byte aligned
      return at;
    };
    const size_t x = take(B * c.n_embd), h = take(B * c.n_embd), q = take(B * c.q_dim()),
                 k = take(B * c.kv_dim()), v = take(B * c.kv_dim()), att = take(B * c.q_dim()),
                 gate = take(B * c.n_ff), up = take(B * c.n_ff),
                 scores = take(pool_->size() * cache_.capacity()),
                 logits = take(config_.logits_rows * c.n_vocab);
    const size_t q8_blocks = B * ((widest + 31) / 32);
    const size_t q8_bytes = (q8_blocks * sizeof(kernels::block_q8_0) + 63) / 64 * 64;
    arena_bytes_ = floats * sizeof(float) + q8_bytes;
    arena_ = detail::aligned_bytes(arena_bytes_);
    float* base = reinterpret_cast<float*>(arena_.get());
    x_ = base + x, h_ = base + h, q_ = base + q, k_ = base + k, v_ = base + v;
    att_ = base + att, gate_ = base + gate, up_ = base + up, scores_ = base + scores;
    logits_ = base + logits;
    xq_ = reinterpret_cast<kernels::block_q8_0*>(arena_.get() + floats * sizeof(float));
  }

  // Contiguous share of `rows` for thread t of n, in multiples of `grain` rows.
  static void split(size_t rows, size_t t, size_t n, size_t& r0, size_t& r1) noexcept {
    constexpr size_t grain = 16;
    const size_t chunks = (rows + grain - 1) / grain;
    r0 = std::min(rows, chunks * t / n * grain);
    r1 = std::min(rows, chunks * (t + 1) / n * grain);
  }

  // Y (m x w.rows, row stride ldy) = X W^T for rows [r0, r1) of W.
  static void product(const weight_view& w, size_t m, const float* X, const kernels::block_q8_0* Xq,
                      float* Y, size_t ldy, size_t r0, size_t r1) noexcept {
    if (r0 >= r1) return;
    const kernels::block_q8_0* xq = w.quantized() ? Xq : nullptr;
    if (m == 1)
      kernels::matvec(w.type, w.data, w.cols, X, xq, Y, r0, r1);
    else
      kernels::matmul(w.type, w.data, w.cols, m, X, xq, Y, ldy, r0, r1);
  }

  // Rounds m rows of n floats (row stride n) to Q8_0 blocks in xq_, once for all threads.
  void quantize_rows(const float* X, size_t m, size_t n) {
    const size_t blocks = n / 32;
    pool_->parallel_for(
        m,
        [&](size_t b, size_t e, size_t) {
          for (size_t i = b; i < e; ++i) kernels::quantize_row_q8_0(X + i * n, xq_ + i * blocks, n);
        },
        8);
  }

  // h = rmsnorm(x) * w for m rows of n_embd, then quantized when `quantize`.
  void norm_rows(const float* X, const float* w, float* H, size_t m, bool quantize) {
    const qwen3_config& c = model_->config();
    const size_t n = c.n_embd;
    pool_->parallel_for(
        m,
        [&](size_t b, size_t e, size_t) {
          for (size_t i = b; i < e; ++i) {
            kernels::rmsnorm(X + i * n, w, H + i * n, n, c.rms_eps);
            if (quantize) kernels::quantize_row_q8_0(H + i * n, xq_ + i * (n / 32), n);
          }
        },
        8);
  }

  // --- LoRA --------------------------------------------------------------------------------
  // Projections sharing an input: their T = s A X run in one fork.
  static constexpr size_t n_groups = 4;  // q/k/v, o, gate/up, down
  static constexpr size_t group_of(lora_target t) noexcept {
    return t <= lora_target::v ? 0 : t == lora_target::o ? 1 : t == lora_target::down ? 3 : 2;
  }
  struct lora_op {
    const lora_pair* pair;
    float scale;      // s = user_scale * alpha / r
    size_t t_offset;  // T of this op: m rows of `rank` at lora_t_ + m * t_offset
  };
  bool lora_active() const noexcept { return !lora_ops_.empty(); }
  // Whether the input of group g of layer l must be rounded to Q8_0 for some adapter's A.
  bool lora_needs_q8(size_t l, size_t g) const noexcept {
    return !lora_q8_.empty() && lora_q8_[l * n_groups + g] != 0;
  }

  size_t lora_out_dim(lora_target t) const noexcept {
    const qwen3_config& c = model_->config();
    if (t == lora_target::q) return c.q_dim();
    if (t == lora_target::k || t == lora_target::v) return c.kv_dim();
    if (t == lora_target::gate || t == lora_target::up) return c.n_ff;
    return c.n_embd;
  }
  // Where a target's B products land in the group scratch (in rows of max_batch floats): q, k, v
  // side by side, gate and up side by side, o and down alone.
  size_t lora_y_offset(lora_target t) const noexcept {
    const qwen3_config& c = model_->config();
    if (t == lora_target::k) return c.q_dim();
    if (t == lora_target::v) return c.q_dim() + c.kv_dim();
    if (t == lora_target::up) return c.n_ff;
    return 0;
  }

  // Grows the scratch to hold T for a group whose ranks add up to `group_rank`, one dequantized
  // B row of `max_rank` per thread, and the widest group's B products (lora_up's Z).
  // Never shrinks.
  void reserve_lora(size_t group_rank, size_t max_rank) {
    group_rank = std::max(group_rank, lora_group_rank_);
    max_rank = std::max(max_rank, lora_max_rank_);
    if (group_rank == lora_group_rank_ && max_rank == lora_max_rank_) return;
    const qwen3_config& c = model_->config();
    const size_t widest = std::max({c.q_dim() + 2 * c.kv_dim(), 2 * c.n_ff, c.n_embd});
    const size_t t_floats = detail::checked_mul(config_.max_batch, group_rank, "the LoRA scratch");
    const size_t row_floats = detail::checked_mul(pool_->size(), max_rank, "the LoRA scratch");
    const size_t y_floats = detail::checked_mul(config_.max_batch, widest, "the LoRA scratch");
    const size_t head = (t_floats + 15) / 16 * 16 + (row_floats + 15) / 16 * 16;
    lora_scratch_ = detail::aligned_bytes((head + y_floats) * sizeof(float));
    lora_t_ = reinterpret_cast<float*>(lora_scratch_.get());
    lora_row_ = lora_t_ + (t_floats + 15) / 16 * 16;
    lora_y_ = lora_t_ + head;
    lora_scratch_floats_ = head + y_floats;
    lora_group_rank_ = group_rank;
    lora_max_rank_ = max_rank;
  }

  // T_op = s_op * A_op X for every op of targets [t0, t1] of `layer`: X is m rows of the
  // group's input (Xq its Q8_0 rounding when some A is Q8_0). One task per op.
  void lora_down(size_t layer, lora_target t0, lora_target t1, size_t m, const float* X,
                 const kernels::block_q8_0* Xq) {
    const uint32_t b = lora_begin_[layer * n_lora_targets + static_cast<size_t>(t0)];
    const uint32_t e = lora_begin_[layer * n_lora_targets + static_cast<size_t>(t1) + 1];
    if (b == e) return;
    auto one = [&](size_t task, size_t) {
      const lora_op& op = lora_ops_[b + task];
      const size_t r = op.pair->rank;
      float* T = lora_t_ + m * op.t_offset;
      product(op.pair->a, m, X, Xq, T, r, 0, r);
      for (size_t i = 0; i < m * r; ++i) T[i] *= op.scale;
    };
    // Decode-sized work (r x in per op: ~10^4 multiply-adds) runs on this thread: a fork would
    // cost more than it saves, and under CPU contention a fork waits for every pool thread.
    size_t work = 0;
    for (uint32_t o = b; o < e; ++o)
      work += m * lora_ops_[o].pair->rank * lora_ops_[o].pair->a.cols;
    if (work < (size_t{1} << 20)) {
      for (uint32_t o = b; o < e; ++o) one(o - b, 0);
      return;
    }
    pool_->run(e - b, one);
  }

  // Y[i*ldy + row] += sum_op B_op[row, :] . T_op[i, :] for rows [r0, r1) of `target`.
  // Float B: one kernels::matvec/matmul over the task's rows into Z (this target's own region of
  // the group scratch, so tasks of other targets never touch it), then added; Q8_0 B (rows of r
  // with r % 32 == 0, rare): row by row, dequantized.
  void lora_up(size_t layer, lora_target target, size_t m, float* Y, size_t ldy, size_t r0,
               size_t r1, size_t thread) const noexcept {
    if (r0 >= r1) return;
    const uint32_t b = lora_begin_[layer * n_lora_targets + static_cast<size_t>(target)];
    const uint32_t e = lora_begin_[layer * n_lora_targets + static_cast<size_t>(target) + 1];
    float* buf = lora_row_ + thread * lora_max_rank_;
    const size_t out = lora_out_dim(target);
    float* Z = lora_y_ + config_.max_batch * lora_y_offset(target);
    for (uint32_t o = b; o < e; ++o) {
      const lora_op& op = lora_ops_[o];
      const weight_view& B = op.pair->b;
      const size_t r = op.pair->rank;
      const float* T = lora_t_ + m * op.t_offset;
      if (!B.quantized()) {
        product(B, m, T, nullptr, Z, out, r0, r1);
        for (size_t i = 0; i < m; ++i)
          for (size_t row = r0; row < r1; ++row) Y[i * ldy + row] += Z[i * out + row];
        continue;
      }
      for (size_t row = r0; row < r1; ++row) {
        kernels::dequantize_row(B.type, B.row(row), buf, r);
        for (size_t i = 0; i < m; ++i) Y[i * ldy + row] += dot(buf, T + i * r, r);
      }
    }
  }

  // Four independent sums so the loop vectorises without reassociation flags.
  static float dot(const float* a, const float* b, size_t n) noexcept {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      s0 += a[j] * b[j];
      s1 += a[j + 1] * b[j + 1];
      s2 += a[j + 2] * b[j + 2];
      s3 += a[j + 3] * b[j + 3];
    }
    for (; j < n; ++j) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
  }

  void forward(std::span<const int32_t> tokens, size_t logits_offset, size_t logits_rows);
  void attention_block(size_t layer, size_t m, size_t p0);
  void ffn_block(size_t layer, size_t m);

  const qwen3* model_;
  session_config config_;
  Cache cache_;
  std::unique_ptr<thread_pool> pool_;
  size_t tasks_;  // row blocks per product: a few per thread, claimed dynamically
  std::unique_ptr<std::byte[], detail::aligned_free> arena_;
  size_t arena_bytes_ = 0;
  float *x_ = nullptr, *h_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr;
  float *att_ = nullptr, *gate_ = nullptr, *up_ = nullptr, *scores_ = nullptr;
  float* logits_ = nullptr;
  kernels::block_q8_0* xq_ = nullptr;
  size_t logits_first_ = 0, logits_count_ = 0;
  const float* hidden_row_ = nullptr;
  bool hidden_valid_ = false;
  // LoRA: the active set, its key, the ops per (layer, target), and the scratch.
  lora_set lora_set_;
  lora_key lora_key_;
  std::vector<lora_op> lora_ops_;
  std::vector<uint32_t> lora_begin_;  // ops of (l, t): [begin[l*7+t], begin[l*7+t+1])
  std::vector<uint8_t> lora_q8_;      // n_layers x n_groups
  std::unique_ptr<std::byte[], detail::aligned_free> lora_scratch_;
  float* lora_t_ = nullptr;    // max_batch x lora_group_rank_
  float* lora_row_ = nullptr;  // threads x lora_max_rank_
  float* lora_y_ = nullptr;    // max_batch x the widest group's outputs (lora_up's Z)
  size_t lora_scratch_floats_ = 0, lora_group_rank_ = 0, lora_max_rank_ = 0;
};

using session = basic_session<>;

// --- the forward pass -------------------------------------------------------------------------

template <KvCache Cache>
void basic_session<Cache>::forward(std::span<const int32_t> tokens, size_t logits_offset,
                                   size_t logits_rows) {
  const qwen3_config& c = model_->config();
  const size_t m = tokens.size(), E = c.n_embd;
  const size_t p0 = cache_.size();
  const weight_view& embd = model_->token_embd();
  for (size_t i = 0; i < m; ++i)
    kernels::dequantize_row(embd.type, embd.row(static_cast<size_t>(tokens[i])), x_ + i * E, E);

  for (size_t l = 0; l < c.n_layers; ++l) {
    attention_block(l, m, p0);
    ffn_block(l, m);
  }
  cache_.advance(m);
  if (logits_rows == 0) return;
  if (logits_rows == hidden_row_only) {
    kernels::rmsnorm(x_ + (m - 1) * E, model_->output_norm(), h_, E, c.rms_eps);
    hidden_row_ = h_;
    return;
  }

  // Final norm and output projection, for the last row or for every row of the chunk.
  const weight_view& out = model_->output();
  const size_t first = logits_rows == logits_rows_all ? 0 : m - 1;
  const size_t rows = m - first;
  norm_rows(x_ + first * E, model_->output_norm(), h_, rows, out.quantized());
  hidden_row_ = h_ + (rows - 1) * E;
  float* Y = logits_ + (logits_rows == logits_rows_all ? logits_offset * c.n_vocab : 0);
  pool_->run(tasks_, [&](size_t t, size_t) {
    size_t r0, r1;
    split(out.rows, t, tasks_, r0, r1);
    product(out, rows, h_, xq_, Y, c.n_vocab, r0, r1);
  });
}

template <KvCache Cache>
void basic_session<Cache>::attention_block(size_t layer, size_t m, size_t p0) {
  const qwen3_config& c = model_->config();
  const qwen3_layer& L = model_->layer(layer);
  const size_t E = c.n_embd, QD = c.q_dim(), KD = c.kv_dim(), hd = c.head_dim;

  // h = rmsnorm(x) * attn_norm; q, k, v = W h: one fork for all three products.
  const bool lora = lora_active();
  norm_rows(x_, L.attn_norm, h_, m,
            L.wq.quantized() || L.wk.quantized() || L.wv.quantized() || lora_needs_q8(layer, 0));
  if (lora) lora_down(layer, lora_target::q, lora_target::v, m, h_, xq_);
  pool_->run(tasks_, [&](size_t t, size_t thread) {
    size_t r0, r1;
    split(QD, t, tasks_, r0, r1);
    product(L.wq, m, h_, xq_, q_, QD, r0, r1);
    if (lora) lora_up(layer, lora_target::q, m, q_, QD, r0, r1, thread);
    split(KD, t, tasks_, r0, r1);
    product(L.wk, m, h_, xq_, k_, KD, r0, r1);
    product(L.wv, m, h_, xq_, v_, KD, r0, r1);
    if (lora) {
      lora_up(layer, lora_target::k, m, k_, KD, r0, r1, thread);
      lora_up(layer, lora_target::v, m, v_, KD, r0, r1, thread);
    }
  });

  // Biases (Qwen2), per-head q/k RMSNorm (Qwen3), NeoX RoPE, then k, v into the cache.
  pool_->parallel_for(m, [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) {
      float* qi = q_ + i * QD;
      float* ki = k_ + i * KD;
      float* vi = v_ + i * KD;
      if (L.bq) {
        for (size_t j = 0; j < QD; ++j) qi[j] += L.bq[j];
        for (size_t j = 0; j < KD; ++j) ki[j] += L.bk[j];
        for (size_t j = 0; j < KD; ++j) vi[j] += L.bv[j];
      }
      if (L.q_norm) {
        for (size_t h = 0; h < c.n_head; ++h)
          kernels::rmsnorm(qi + h * hd, L.q_norm, qi + h * hd, hd, c.rms_eps);
        for (size_t h = 0; h < c.n_head_kv; ++h)
          kernels::rmsnorm(ki + h * hd, L.k_norm, ki + h * hd, hd, c.rms_eps);
      }
      const int pos = static_cast<int>(p0 + i);
      kernels::rope_neox(qi, c.n_head, hd, pos, c.rope_freq_base);
      kernels::rope_neox(ki, c.n_head_kv, hd, pos, c.rope_freq_base);
      cache_.store(layer, p0 + i, ki, vi);
    }
  });

  // Causal GQA attention: query (i, h) sees positions [0, p0 + i] of KV head h / group.
  const size_t group = c.n_head / c.n_head_kv;
  const size_t es = cache_.element_size();
  const auto* K = static_cast<const std::byte*>(cache_.k_data(layer));
  const auto* V = static_cast<const std::byte*>(cache_.v_data(layer));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  pool_->run(m * c.n_head, [&](size_t task, size_t thread) {
    float* scores = scores_ + thread * cache_.capacity();
    const size_t i = task / c.n_head, h = task % c.n_head, g = h / group;
    kernels::attention_head(q_ + i * QD + h * hd, K + g * hd * es, V + g * hd * es, cache_.type(),
                            cache_.row_elements(), p0 + i + 1, hd, scale, scores,
                            att_ + i * QD + h * hd);
  });

  // x += Wo att, each thread adding the rows it computed.
  if (L.wo.quantized() || lora_needs_q8(layer, 1)) quantize_rows(att_, m, QD);
  if (lora) lora_down(layer, lora_target::o, lora_target::o, m, att_, xq_);
  pool_->run(tasks_, [&](size_t t, size_t thread) {
    size_t r0, r1;
    split(E, t, tasks_, r0, r1);
    product(L.wo, m, att_, xq_, h_, E, r0, r1);
    if (lora) lora_up(layer, lora_target::o, m, h_, E, r0, r1, thread);
    for (size_t i = 0; i < m; ++i)
      for (size_t r = r0; r < r1; ++r) x_[i * E + r] += h_[i * E + r];
  });
}

template <KvCache Cache>
void basic_session<Cache>::ffn_block(size_t layer, size_t m) {
  const qwen3_config& c = model_->config();
  const qwen3_layer& L = model_->layer(layer);
  const size_t E = c.n_embd, F = c.n_ff;

  const bool lora = lora_active();
  norm_rows(x_, L.ffn_norm, h_, m,
            L.gate.quantized() || L.up.quantized() || lora_needs_q8(layer, 2));
  if (lora) lora_down(layer, lora_target::gate, lora_target::up, m, h_, xq_);
  pool_->run(tasks_, [&](size_t t, size_t thread) {
    size_t r0, r1;
    split(F, t, tasks_, r0, r1);
    product(L.gate, m, h_, xq_, gate_, F, r0, r1);
    product(L.up, m, h_, xq_, up_, F, r0, r1);
    if (lora) {
      lora_up(layer, lora_target::gate, m, gate_, F, r0, r1, thread);
      lora_up(layer, lora_target::up, m, up_, F, r0, r1, thread);
    }
  });
  // gate = silu(gate) * up, rounded to Q8_0 for the down product.
  const bool quantize = L.down.quantized() || lora_needs_q8(layer, 3);
  pool_->parallel_for(
      m,
      [&](size_t b, size_t e, size_t) {
        for (size_t i = b; i < e; ++i) {
          kernels::silu_mul(gate_ + i * F, up_ + i * F, gate_ + i * F, F);
          if (quantize) kernels::quantize_row_q8_0(gate_ + i * F, xq_ + i * (F / 32), F);
        }
      },
      8);
  if (lora) lora_down(layer, lora_target::down, lora_target::down, m, gate_, xq_);
  pool_->run(tasks_, [&](size_t t, size_t thread) {
    size_t r0, r1;
    split(E, t, tasks_, r0, r1);
    product(L.down, m, gate_, xq_, h_, E, r0, r1);
    if (lora) lora_up(layer, lora_target::down, m, h_, E, r0, r1, thread);
    for (size_t i = 0; i < m; ++i)
      for (size_t r = r0; r < r1; ++r) x_[i * E + r] += h_[i * E + r];
  });
}

}  // namespace edgecloud::model
