// SPDX-License-Identifier: Apache-2.0
// Static key/value cache of a decoder-only transformer.
//
// Layout: one allocation, per layer a K block then a V block, each `capacity` positions of
// n_kv_heads*head_dim elements (position-major). Head h of position p of layer l is at
//   k_data(l) + (p * row_elements() + h * head_dim) elements,
// so one attention head reads its keys as rows `row_elements()` elements apart: the `stride`
// that kernels::attention_head takes. Elements are F32 or IEEE F16 (half the memory and
// bandwidth; F16 keeps ~11 bits of mantissa, i.e. ~5e-4 relative error per element).
//
// Capacity is fixed when the cache is made: `basic_kv_cache<N>` fixes it at compile time
// (`static_kv_cache<N>`), `basic_kv_cache<>` (`kv_cache`) at run time. Nothing is allocated
// afterwards; the memory is not touched until written, so the resident size grows with use.
// A sequence that does not fit is refused with capacity_error before anything is changed.
//
// Ownership: the cache owns its buffer (moved, never copied). `truncate(n)` is O(1): it only
// forgets positions >= n, which is what prefix reuse and speculative decoding need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <edgecloud/error.hpp>
#include <edgecloud/kernels.hpp>
#include <edgecloud/model/concepts.hpp>
#include <limits>
#include <memory>
#include <new>
#include <string>

namespace edgecloud::model {

inline constexpr size_t dynamic_capacity = 0;

// The per-position shape of the cache, taken from the model.
struct kv_shape {
  size_t n_layers = 0;
  size_t n_kv_heads = 0;
  size_t head_dim = 0;  // keys and values share it (Qwen2/Qwen3: key_length == value_length)
};

namespace detail {
struct aligned_free {
  void operator()(void* p) const noexcept { std::free(p); }
};
// 64-byte aligned, uninitialised (so untouched pages stay out of the resident set).
inline std::unique_ptr<std::byte[], aligned_free> aligned_bytes(size_t n) {
  if (n == 0) return nullptr;
  const size_t rounded = (n + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  return std::unique_ptr<std::byte[], aligned_free>(static_cast<std::byte*>(p));
}
inline size_t checked_mul(size_t a, size_t b, const char* what) {
  if (a != 0 && b > std::numeric_limits<size_t>::max() / a)
    throw config_error(std::string("size overflow computing ") + what);
  return a * b;
}
}  // namespace detail

template <size_t Capacity = dynamic_capacity>
class basic_kv_cache {
 public:
  static constexpr bool is_static = Capacity != dynamic_capacity;

  // `capacity` is required for the run-time variant; for the static one it must be 0 or
  // Capacity. `type` is kernels::dtype::f32 or f16.
  basic_kv_cache(const kv_shape& shape, size_t capacity, kernels::dtype type = kernels::dtype::f16)
      : shape_(shape), type_(type) {
    if constexpr (is_static) {
      if (capacity != 0 && capacity != Capacity)
        throw config_error("static_kv_cache<" + std::to_string(Capacity) +
                           "> cannot hold a context of " + std::to_string(capacity));
      capacity = Capacity;
    }
    if (capacity == 0) throw config_error("KV cache capacity must be at least 1 position");
    if (type != kernels::dtype::f32 && type != kernels::dtype::f16)
      throw config_error("KV cache elements must be f32 or f16");
    if (shape.n_layers == 0 || shape.n_kv_heads == 0 || shape.head_dim == 0)
      throw config_error("KV cache shape has a zero dimension");
    capacity_ = capacity;
    row_elements_ = detail::checked_mul(shape.n_kv_heads, shape.head_dim, "KV row");
    block_elements_ = detail::checked_mul(row_elements_, capacity_, "KV block");
    const size_t elements = detail::checked_mul(detail::checked_mul(block_elements_, 2, "KV cache"),
                                                shape.n_layers, "KV cache");
    bytes_ = detail::checked_mul(elements, element_size(), "KV cache bytes");
    data_ = detail::aligned_bytes(bytes_);
  }
  explicit basic_kv_cache(const kv_shape& shape,
                          kernels::dtype type = kernels::dtype::f16) requires is_static
      : basic_kv_cache(shape, Capacity, type) {}

  basic_kv_cache(basic_kv_cache&&) noexcept = default;
  basic_kv_cache& operator=(basic_kv_cache&&) noexcept = default;

  size_t capacity() const noexcept { return capacity_; }
  size_t size() const noexcept { return size_; }    // positions held
  size_t bytes() const noexcept { return bytes_; }  // memory reserved for the whole capacity
  kernels::dtype type() const noexcept { return type_; }
  const kv_shape& shape() const noexcept { return shape_; }
  size_t row_elements() const noexcept { return row_elements_; }  // stride between positions
  size_t element_size() const noexcept { return type_ == kernels::dtype::f32 ? 4 : 2; }

  // Throws capacity_error unless `n` more positions fit after the ones held.
  void require_room(size_t n) const {
    if (n > capacity_ - size_)
      throw capacity_error("sequence does not fit the KV cache: " + std::to_string(size_) +
                           " positions held + " + std::to_string(n) + " new > capacity " +
                           std::to_string(capacity_) +
                           "; make the session with a larger context (session_config::context) "
                           "or truncate");
  }
  // Marks positions [size, size + n) as written (after the caller stored them).
  void advance(size_t n) {
    require_room(n);
    size_ += n;
  }
  // Forgets every position >= n (no-op when n >= size). O(1).
  void truncate(size_t n) noexcept {
    if (n < size_) size_ = n;
  }
  void clear() noexcept { size_ = 0; }

  // Start of layer `layer`'s keys / values (position 0, head 0).
  void* k_data(size_t layer) noexcept { return data_.get() + offset(layer, 0); }
  void* v_data(size_t layer) noexcept { return data_.get() + offset(layer, 1); }
  const void* k_data(size_t layer) const noexcept { return data_.get() + offset(layer, 0); }
  const void* v_data(size_t layer) const noexcept { return data_.get() + offset(layer, 1); }

  // Stores one position's keys and values (row_elements() floats each), converting to the
  // cache's element type. `pos` may be anywhere below capacity (the caller advances later).
  void store(size_t layer, size_t pos, const float* k, const float* v) noexcept {
    store_row(static_cast<std::byte*>(k_data(layer)) + pos * row_elements_ * element_size(), k);
    store_row(static_cast<std::byte*>(v_data(layer)) + pos * row_elements_ * element_size(), v);
  }

 private:
  size_t offset(size_t layer, size_t which) const noexcept {
    return (layer * 2 + which) * block_elements_ * element_size();
  }
  void store_row(std::byte* dst, const float* src) const noexcept {
    if (type_ == kernels::dtype::f32) {
      std::memcpy(dst, src, row_elements_ * sizeof(float));
    } else {
      auto* d = reinterpret_cast<uint16_t*>(dst);
      for (size_t i = 0; i < row_elements_; ++i) d[i] = kernels::fp32_to_fp16(src[i]);
    }
  }

  kv_shape shape_;
  kernels::dtype type_;
  size_t capacity_ = 0, size_ = 0, row_elements_ = 0, block_elements_ = 0, bytes_ = 0;
  std::unique_ptr<std::byte[], detail::aligned_free> data_;
};

using kv_cache = basic_kv_cache<>;
template <size_t Capacity>
using static_kv_cache = basic_kv_cache<Capacity>;

static_assert(KvCache<kv_cache>);
static_assert(KvCache<static_kv_cache<256>>);

}  // namespace edgecloud::model
