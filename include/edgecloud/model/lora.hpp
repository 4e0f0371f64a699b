// SPDX-License-Identifier: Apache-2.0
// LoRA adapters in llama.cpp's GGUF convention, applied unmerged by the session.
//
//   auto model = edgecloud::model::qwen3::load("base.gguf");
//   auto tone = edgecloud::model::lora_adapter::load("tone.gguf", model);
//   edgecloud::model::session s(model);
//   s.set_adapters({{tone, 1.0f}});          // between requests; free to change
//
// The file (what llama.cpp's convert_lora_to_gguf.py writes and llama-adapter.cpp reads):
//   general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32, optional),
//   general.architecture = the base's ("qwen3" / "qwen2");
//   tensors blk.N.<target>.weight.lora_a  GGUF dims {in, r}   (r rows of `in`: A, r x in)
//           blk.N.<target>.weight.lora_b  GGUF dims {r, out}  (out rows of r:  B, out x r)
//   for <target> in attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down; each
//   matrix F32, F16, BF16 or Q8_0. Any subset of layers and targets may be present.
//
// The maths, for a base projection y = W x (W: out x in):
//   y = W x + s · B (A x),   s = user_scale · alpha / r   (alpha absent or 0: s = user_scale)
// -- llama.cpp's scale, with r taken per tensor pair (B's row length), so an adapter whose
// ranks differ by projection is scaled as llama.cpp scales it. Several adapters add their terms.
// Unmerged, the base weights are never touched: switching adapters costs only the set_adapters
// call, and any number of sessions share one base with different sets. The extra work per token
// is r·(in + out) multiply-adds per projection and adapter, 1.7% of a token for r = 16 on
// all seven projections of the 0.6B shape (2.3% of the layers' multiply-adds).
//
// Trust: everything is validated at load against the base's configuration, before any session
// sees the adapter: metadata, names (layer in range, a known target, the .lora_a/.lora_b
// suffix), shapes (A's `in` and B's `out` the base tensor's, A's r == B's r), types, each pair
// complete. Failures are model_error naming the file and the tensor.
//
// Ownership: a lora_adapter owns its GGUF bytes (a read-only mapping from load(), or a private
// copy from from_memory()); its views point into them. Adapters are immutable and handed out as
// shared_ptr<const lora_adapter>: sessions keep the pointers of their set, so an adapter lives
// as long as any session uses it, and one adapter may be used by many sessions and threads.
#pragma once

#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/gguf.hpp>
#include <edgecloud/model/kv_cache.hpp>
#include <edgecloud/model/qwen3.hpp>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgecloud::model {

// The projections an adapter may modify, in the order of the forward pass.
enum class lora_target : uint8_t { q, k, v, o, gate, up, down };
inline constexpr size_t n_lora_targets = 7;
inline constexpr std::array<std::string_view, n_lora_targets> lora_target_names = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

// The base projection a target modifies.
inline const weight_view& lora_base_weight(const qwen3_layer& l, lora_target t) noexcept {
  switch (t) {
    case lora_target::q:
      return l.wq;
    case lora_target::k:
      return l.wk;
    case lora_target::v:
      return l.wv;
    case lora_target::o:
      return l.wo;
    case lora_target::gate:
      return l.gate;
    case lora_target::up:
      return l.up;
    case lora_target::down:
      break;
  }
  return l.down;
}

// One projection's low-rank pair: A (rank x in) and B (out x rank), views into the adapter.
struct lora_pair {
  weight_view a, b;
  size_t rank = 0;  // 0: this projection is not adapted
  explicit operator bool() const noexcept { return rank != 0; }
};

class lora_adapter {
 public:
  // Largest rank accepted: far above any practical LoRA (PEFT defaults to 8), low enough that
  // a hostile file cannot size a huge scratch buffer in the session.
  static constexpr size_t max_rank_allowed = 4096;

  // Maps and validates `path` against `base`; model_error naming the file and the problem.
  // `access`: file_access::read copies the file instead of mapping it (model/mapped_file.hpp).
  static std::shared_ptr<const lora_adapter> load(const std::filesystem::path& path,
                                                  const qwen3& base,
                                                  file_access access = file_access::map) {
    auto f = std::make_unique<gguf::file>(gguf::file::open(path, access));
    return std::shared_ptr<const lora_adapter>(
        new lora_adapter(std::move(f), nullptr, base.config(), path.string()));
  }
  // Validates GGUF bytes (copied: the adapter owns them) against `base`. `name` labels errors.
  static std::shared_ptr<const lora_adapter> from_memory(std::span<const std::byte> bytes,
                                                         const qwen3& base,
                                                         std::string name = "<memory>") {
    auto owned = detail::aligned_bytes(bytes.size());
    if (!bytes.empty()) std::memcpy(owned.get(), bytes.data(), bytes.size());
    std::unique_ptr<gguf::file> f;
    try {
      f = std::make_unique<gguf::file>(gguf::file::from_memory({owned.get(), bytes.size()}));
    } catch (const model_error& e) {
      throw model_error(name + ": " + e.what());
    }
    return std::shared_ptr<const lora_adapter>(
        new lora_adapter(std::move(f), std::move(owned), base.config(), std::move(name)));
  }

  lora_adapter(const lora_adapter&) = delete;
  lora_adapter& operator=(const lora_adapter&) = delete;

  // The path (or the from_memory name).
  const std::string& name() const noexcept { return name_; }
  // Throws model_error naming the file when it changed under its mapping (qwen3::check_intact).
  void check_intact() const { file_->check_intact(); }
  bool faulted() const noexcept { return file_->faulted(); }
  // adapter.lora.alpha; 0 when the file has none (then s = user_scale).
  float alpha() const noexcept { return alpha_; }
  size_t n_layers() const noexcept { return n_layers_; }
  size_t max_rank() const noexcept { return max_rank_; }
  size_t n_pairs() const noexcept { return n_pairs_; }
  // Bytes of the A and B matrices: the memory the adapter adds (file pages, mapped on use).
  size_t bytes() const noexcept { return bytes_; }
  // Unique per loaded adapter (never reused in a process): what caches key on.
  uint64_t id() const noexcept { return id_; }
  const gguf::file& file() const noexcept { return *file_; }

  const lora_pair& pair(size_t layer, lora_target t) const noexcept {
    return pairs_[layer * n_lora_targets + static_cast<size_t>(t)];
  }

  // s = user_scale * alpha / r, llama.cpp's rule (alpha 0: user_scale).
  float scale_for(float user_scale, size_t rank) const noexcept {
    return alpha_ != 0.0f ? user_scale * alpha_ / static_cast<float>(rank) : user_scale;
  }

  // Whether the adapter was validated against a base of this configuration (the shapes it
  // was checked against). Sessions refuse an adapter made for another shape.
  bool fits(const qwen3_config& c) const noexcept {
    return c.architecture == arch_ && c.n_layers == n_layers_ && c.n_embd == n_embd_ &&
           c.q_dim() == q_dim_ && c.kv_dim() == kv_dim_ && c.n_ff == n_ff_;
  }

 private:
  lora_adapter(std::unique_ptr<gguf::file> f,
               std::unique_ptr<std::byte[], detail::aligned_free> own, const qwen3_config& base,
               std::string name)
      : file_(std::move(f)), owned_(std::move(own)), name_(std::move(name)), id_(next_id()) {
    try {
      validate(base);
    } catch (const model_error& e) {
      throw model_error(name_ + ": " + e.what());
    }
  }

  static uint64_t next_id() noexcept {
    static std::atomic<uint64_t> counter{0};
    return ++counter;
  }

  void validate(const qwen3_config& c) {
    const gguf::file& f = *file_;
    const auto type = f.get_string("general.type");
    if (!type || *type != "adapter")
      throw model_error("not a LoRA adapter: general.type is " +
                        (type ? "'" + std::string(*type) + "'" : std::string("missing")) +
                        ", expected 'adapter' (is this a base model?)");
    const auto atype = f.get_string("adapter.type");
    if (!atype || *atype != "lora")
      throw model_error("adapter.type is " +
                        (atype ? "'" + std::string(*atype) + "'" : std::string("missing")) +
                        ", only 'lora' adapters are supported");
    const auto arch = f.get_string("general.architecture");
    if (!arch) throw model_error("no general.architecture key");
    if (*arch != c.architecture)
      throw model_error("adapter architecture '" + std::string(*arch) +
                        "' does not match the base model's '" + c.architecture + "'");
    const double alpha = f.get_float("adapter.lora.alpha").value_or(0.0);
    if (!std::isfinite(alpha) || alpha < 0.0 || alpha > 1e6)
      throw model_error("adapter.lora.alpha = " + std::to_string(alpha) +
                        " is not a finite value in [0, 1e6]");
    alpha_ = static_cast<float>(alpha);
    arch_ = c.architecture;
    n_layers_ = c.n_layers, n_embd_ = c.n_embd, q_dim_ = c.q_dim(), kv_dim_ = c.kv_dim();
    n_ff_ = c.n_ff;

    pairs_.assign(c.n_layers * n_lora_targets, lora_pair{});
    std::vector<uint8_t> seen(pairs_.size(), 0);  // bit 0: lora_a, bit 1: lora_b
    for (const gguf::tensor_info& t : f.tensors()) {
      const bool is_a = t.name.ends_with(".lora_a"), is_b = t.name.ends_with(".lora_b");
      if (!is_a && !is_b)
        throw model_error("tensor " + t.name +
                          ": unexpected name (a LoRA file holds only .lora_a / .lora_b tensors)");
      const std::string base_name = t.name.substr(0, t.name.size() - 7);  // "blk.N.x.weight"
      size_t layer = 0;
      lora_target target{};
      parse_name(t.name, base_name, c.n_layers, layer, target);
      const size_t slot = layer * n_lora_targets + static_cast<size_t>(target);
      const uint8_t bit = is_a ? 1 : 2;
      if (seen[slot] & bit) throw model_error("tensor " + t.name + ": given twice");
      seen[slot] |= bit;
      const size_t out = out_dim(target), in = in_dim(target);
      lora_pair& p = pairs_[slot];
      if (t.dims.size() != 2)
        throw model_error("tensor " + t.name + ": expected 2 dims, file has " +
                          gguf::detail::format_dims(t.dims));
      const auto tt = static_cast<kernels::dtype>(t.type);
      if (tt != kernels::dtype::f32 && tt != kernels::dtype::f16 && tt != kernels::dtype::bf16 &&
          tt != kernels::dtype::q8_0)
        throw model_error("tensor " + t.name + ": type " + gguf::ggml_type_name(t.type) +
                          " is not supported for LoRA (F32, F16, BF16 or Q8_0)");
      const uint64_t rank = is_a ? t.dims[1] : t.dims[0];
      const uint64_t cols = t.dims[0], rows = t.dims[1];
      if (is_a && cols != in)
        throw model_error("tensor " + t.name + ": expected " + std::to_string(in) + "x<rank> (" +
                          base_name + " has " + std::to_string(in) + " columns), file has " +
                          gguf::detail::format_dims(t.dims) +
                          (rows == out ? " (hint: lora_a and lora_b swapped?)" : ""));
      if (is_b && rows != out)
        throw model_error("tensor " + t.name + ": expected <rank>x" + std::to_string(out) + " (" +
                          base_name + " has " + std::to_string(out) + " rows), file has " +
                          gguf::detail::format_dims(t.dims) +
                          (cols == in ? " (hint: lora_a and lora_b swapped?)" : ""));
      if (rank == 0 || rank > max_rank_allowed)
        throw model_error("tensor " + t.name + ": rank " + std::to_string(rank) +
                          " is outside [1, " + std::to_string(max_rank_allowed) + "]");
      if (p.rank != 0 && p.rank != rank)
        throw model_error("tensors " + base_name + ".lora_a and .lora_b disagree on the rank (" +
                          std::to_string(p.rank) + " vs " + std::to_string(rank) + ")");
      p.rank = static_cast<size_t>(rank);
      weight_view w;
      w.type = tt;
      w.data = t.data;
      w.rows = static_cast<size_t>(rows);
      w.cols = static_cast<size_t>(cols);
      w.row_bytes = kernels::row_bytes(tt, w.cols);
      if (t.n_bytes < w.row_bytes * w.rows)
        throw model_error("tensor " + t.name + ": data is shorter than its shape");
      if (tt == kernels::dtype::f32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0)
        throw model_error("tensor " + t.name + ": F32 data is not 4-byte aligned");
      (is_a ? p.a : p.b) = w;
      bytes_ += w.row_bytes * w.rows;
    }
    for (size_t slot = 0; slot < pairs_.size(); ++slot) {
      if (seen[slot] == 0) continue;
      if (seen[slot] != 3)
        throw model_error("tensor blk." + std::to_string(slot / n_lora_targets) + "." +
                          std::string(lora_target_names[slot % n_lora_targets]) + ".weight.lora_" +
                          (seen[slot] == 1 ? "b" : "a") + " is missing (each pair needs both)");
      ++n_pairs_;
      max_rank_ = std::max(max_rank_, pairs_[slot].rank);
    }
    if (n_pairs_ == 0) throw model_error("the adapter holds no LoRA tensors");
  }

  // "blk.N.<target>.weight" -> N, target; model_error for anything else.
  static void parse_name(const std::string& full, const std::string& base_name, size_t n_layers,
                         size_t& layer, lora_target& target) {
    auto unsupported = [&](const std::string& why) {
      throw model_error("tensor " + full + ": " + why);
    };
    if (!base_name.starts_with("blk."))
      unsupported("LoRA on " + base_name +
                  " is not supported (only blk.N.attn_q/attn_k/attn_v/attn_output/ffn_gate/"
                  "ffn_up/ffn_down.weight)");
    size_t i = 4, n = 0, digits = 0;
    while (i < base_name.size() && base_name[i] >= '0' && base_name[i] <= '9' && digits < 7)
      n = n * 10 + static_cast<size_t>(base_name[i++] - '0'), ++digits;
    if (digits == 0 || i >= base_name.size() || base_name[i] != '.')
      unsupported("not a blk.N.<name>.weight LoRA tensor");
    if (n >= n_layers)
      unsupported("layer " + std::to_string(n) + " does not exist (the base model has " +
                  std::to_string(n_layers) + " layers)");
    const std::string rest = base_name.substr(i + 1);
    for (size_t t = 0; t < n_lora_targets; ++t)
      if (rest == std::string(lora_target_names[t]) + ".weight") {
        layer = n;
        target = static_cast<lora_target>(t);
        return;
      }
    unsupported("LoRA on " + rest +
                " is not supported (only attn_q/attn_k/attn_v/attn_output/ffn_gate/ffn_up/"
                "ffn_down.weight)");
  }

  size_t out_dim(lora_target t) const noexcept {
    switch (t) {
      case lora_target::q:
        return q_dim_;
      case lora_target::k:
      case lora_target::v:
        return kv_dim_;
      case lora_target::gate:
      case lora_target::up:
        return n_ff_;
      default:
        return n_embd_;
    }
  }
  size_t in_dim(lora_target t) const noexcept {
    switch (t) {
      case lora_target::o:
        return q_dim_;
      case lora_target::down:
        return n_ff_;
      default:
        return n_embd_;
    }
  }

  std::unique_ptr<gguf::file> file_;
  std::unique_ptr<std::byte[], detail::aligned_free> owned_;  // from_memory's copy
  std::string name_;
  uint64_t id_ = 0;
  std::string arch_;
  size_t n_layers_ = 0, n_embd_ = 0, q_dim_ = 0, kv_dim_ = 0, n_ff_ = 0;
  float alpha_ = 0.0f;
  size_t max_rank_ = 0, n_pairs_ = 0, bytes_ = 0;
  std::vector<lora_pair> pairs_;  // n_layers x n_lora_targets
};

// One active adapter: the adapter and the user's scale (llama.cpp's --lora-scaled FILE SCALE).
struct lora_binding {
  std::shared_ptr<const lora_adapter> adapter;
  float scale = 1.0f;
};

// The adapters a session applies, their terms added in this order. Empty = the base model.
using lora_set = std::vector<lora_binding>;

// What identifies the computation of a set: (adapter id, scale bits) per binding with a nonzero
// scale, in order. Equal keys give bit-identical activations; the prefix cache keys on this.
using lora_key = std::vector<uint64_t>;

inline lora_key make_lora_key(const lora_set& set) {
  lora_key k;
  for (const lora_binding& b : set) {
    if (!b.adapter || b.scale == 0.0f) continue;
    uint32_t bits;
    std::memcpy(&bits, &b.scale, 4);
    k.push_back(b.adapter->id());
    k.push_back(bits);
  }
  return k;
}

// An adapter file and its scale, as configuration (CLI --lora FILE:SCALE, server start-up).
struct lora_file {
  std::filesystem::path path;
  float scale = 1.0f;
};

// Loads every file against `base` (model_error naming the file that fails), in order.
inline std::vector<std::shared_ptr<const lora_adapter>> load_lora_files(
    const std::vector<lora_file>& files, const qwen3& base, file_access access = file_access::map) {
  std::vector<std::shared_ptr<const lora_adapter>> out;
  out.reserve(files.size());
  for (const lora_file& f : files) out.push_back(lora_adapter::load(f.path, base, access));
  return out;
}

// Throws config_error unless every binding has an adapter and a finite scale.
inline void check_lora_set(const lora_set& set) {
  for (size_t i = 0; i < set.size(); ++i) {
    if (!set[i].adapter) throw config_error("LoRA set entry " + std::to_string(i) + " is null");
    if (!std::isfinite(set[i].scale))
      throw config_error("LoRA " + set[i].adapter->name() + ": scale is not finite");
  }
}

}  // namespace edgecloud::model
