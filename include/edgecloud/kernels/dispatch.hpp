// SPDX-License-Identifier: Apache-2.0
// Run-time ISA dispatch. Each per-architecture instantiation unit (include/edgecloud/kernels/
// arch/*.cpp, compiled into every target that links edgecloud::edgecloud, see docs/kernels.md)
// fills one kernel_table with pointers to functions of internal linkage and registers it from a
// static initializer. The first kernel call picks, once, the highest-ranked registered table
// whose CPU features are present; the scalar reference table is always there as "generic".
// EDGECLOUD_ISA=<name> in the environment forces a lower table (benchmarks, bug hunts).
//
// Ownership: tables are static data of the program; the registry holds pointers only.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "edgecloud/kernels/cpu_features.hpp"
#include "edgecloud/kernels/reference.hpp"
#include "edgecloud/kernels/types.hpp"

namespace edgecloud::kernels {

// One architecture's kernels; signatures are those of the public functions (see kernels.hpp).
struct kernel_table {
  const char* isa;             // "avx512_vnni", "avx512", "avx2", "neon64", "generic"
  int rank;                    // higher is preferred when supported
  uint32_t required_features;  // cpu_feature bits
  void (*quantize_row_q8_0)(const float* x, block_q8_0* y, size_t n);
  void (*dequantize_row)(dtype t, const void* row, float* out, size_t n);
  void (*matvec)(dtype t, const void* W, size_t n, const float* x, const block_q8_0* xq, float* y,
                 size_t r0, size_t r1);
  void (*matmul)(dtype t, const void* W, size_t n, size_t m, const float* X, const block_q8_0* Xq,
                 float* Y, size_t ldy, size_t r0, size_t r1);
  void (*rmsnorm)(const float* x, const float* w, float* y, size_t n, float eps);
  void (*rope_neox)(float* x, size_t n_heads, size_t head_dim, int pos, float freq_base);
  void (*softmax)(float* x, size_t n);
  void (*silu_mul)(const float* gate, const float* up, float* y, size_t n);
  void (*attention_head)(const float* q, const void* K, const void* V, dtype kv, size_t stride,
                         size_t n_pos, size_t head_dim, float scale, float* scores, float* out);
};

// The scalar reference as a table (the "generic" entry, valid on every CPU).
inline constexpr kernel_table reference_table{"generic",
                                              0,
                                              0,
                                              &reference::quantize_row_q8_0,
                                              &reference::dequantize_row,
                                              &reference::matvec,
                                              &reference::matmul,
                                              &reference::rmsnorm,
                                              &reference::rope_neox,
                                              &reference::softmax,
                                              &reference::silu_mul,
                                              &reference::attention_head};

namespace detail {

struct table_registry {
  static constexpr size_t capacity = 16;
  const kernel_table* tables[capacity] = {};
  size_t count = 0;
};
// Constant-initialised, so registration from any static initializer finds it ready.
inline constinit table_registry registry{};
inline constinit std::atomic<const kernel_table*> active_cache{nullptr};

// Called by the arch units' static initializers. Two targets of one program that both link
// edgecloud each carry a copy of the units: the second registration of an ISA is ignored.
inline void register_table(const kernel_table& table) noexcept {
  for (size_t i = 0; i < registry.count; ++i) {
    if (std::strcmp(registry.tables[i]->isa, table.isa) == 0) return;
  }
  if (registry.count < table_registry::capacity) registry.tables[registry.count++] = &table;
  active_cache.store(nullptr, std::memory_order_release);  // re-select on next call
}

inline bool table_supported(const kernel_table& t) noexcept {
  return (cpu_features() & t.required_features) == t.required_features;
}

inline const kernel_table* select_table() noexcept {
  const char* forced = std::getenv("EDGECLOUD_ISA");
  const kernel_table* best = &reference_table;
  for (size_t i = 0; i < registry.count; ++i) {
    const kernel_table* t = registry.tables[i];
    if (!table_supported(*t)) continue;
    if (forced && *forced) {
      if (std::strcmp(forced, t->isa) == 0) return t;
      continue;
    }
    if (t->rank > best->rank) best = t;
  }
  return best;  // a forced name that is unknown or unsupported here gives "generic"
}

}  // namespace detail

// The table the public kernels use (selected on first use).
inline const kernel_table& active_table() noexcept {
  const kernel_table* t = detail::active_cache.load(std::memory_order_acquire);
  if (!t) {
    t = detail::select_table();
    detail::active_cache.store(t, std::memory_order_release);
  }
  return *t;
}

// Every table this CPU can run, best first, "generic" last (tests run each of them).
inline std::vector<const kernel_table*> supported_tables() {
  std::vector<const kernel_table*> out;
  for (size_t i = 0; i < detail::registry.count; ++i) {
    if (detail::table_supported(*detail::registry.tables[i]))
      out.push_back(detail::registry.tables[i]);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->rank > b->rank; });
  out.push_back(&reference_table);
  return out;
}

// Name of the ISA chosen at run time: "avx512_vnni", "avx512", "avx2", "neon64" or "generic".
inline const char* active_isa() noexcept {
  return active_table().isa;
}

}  // namespace edgecloud::kernels
