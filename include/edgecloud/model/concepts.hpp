// SPDX-License-Identifier: Apache-2.0
// The plug-point concepts of the model layer; re-exported by edgecloud/concepts.hpp.
//
// KvCache: what a session needs of a key/value cache. The defaults (model::kv_cache, run-time
// capacity, and model::static_kv_cache<N>, compile-time capacity; kv_cache.hpp) satisfy it; a
// paged or quantized cache can plug into model::basic_session<Cache> by providing the same.
#pragma once

#include <concepts>
#include <cstddef>
#include <edgecloud/kernels.hpp>

namespace edgecloud::model {

struct kv_shape;

template <class C>
concept KvCache = std::move_constructible<C> &&
    requires(C cache, const C const_cache, size_t n, size_t layer, const float* row) {
  { const_cache.capacity() } -> std::convertible_to<size_t>;
  { const_cache.size() } -> std::convertible_to<size_t>;          // positions held
  { const_cache.bytes() } -> std::convertible_to<size_t>;         // memory reserved
  { const_cache.type() } -> std::same_as<kernels::dtype>;         // f32 or f16 elements
  { const_cache.row_elements() } -> std::convertible_to<size_t>;  // stride between positions
  {const_cache.require_room(n)};                                  // throws capacity_error
  {cache.advance(n)};
  { cache.truncate(n) }
  noexcept;
  { cache.clear() }
  noexcept;
  { cache.k_data(layer) } -> std::convertible_to<void*>;
  { cache.v_data(layer) } -> std::convertible_to<void*>;
  {cache.store(layer, n, row, row)};
};

}  // namespace edgecloud::model
