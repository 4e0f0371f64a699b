// SPDX-License-Identifier: Apache-2.0
// Shared helpers of the kernel tests: random data, the list of ISA tables this CPU runs (every
// test family is instantiated once per table, so each SIMD instantiation is checked against the
// scalar reference, not only the dispatched one), and float rounding bounds.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "edgecloud/kernels.hpp"

namespace edgecloud::testing {

namespace k = edgecloud::kernels;

// Unit roundoff of float (round to nearest): every float operation has relative error <= u.
inline constexpr double unit_roundoff = 0x1p-24;

// Higham's gamma_n = n u / (1 - n u): bound on the relative error of an n-term float sum or dot
// product in any summation order, relative to the sum of absolute values of the terms.
inline double gamma_n(double n) {
  return n * unit_roundoff / (1.0 - n * unit_roundoff);
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// A weight matrix of `rows` rows of n columns in type t, made from random floats.
inline std::vector<unsigned char> random_weights(k::dtype t, size_t rows, size_t n, uint32_t seed) {
  const auto values = random_floats(rows * n, seed);
  std::vector<unsigned char> bytes(rows * k::row_bytes(t, n));
  for (size_t r = 0; r < rows; ++r) {
    unsigned char* row = bytes.data() + r * k::row_bytes(t, n);
    const float* src = values.data() + r * n;
    switch (t) {
      case k::dtype::f32:
        std::memcpy(row, src, n * 4);
        break;
      case k::dtype::f16:
        for (size_t i = 0; i < n; ++i)
          reinterpret_cast<uint16_t*>(row)[i] = k::fp32_to_fp16(src[i]);
        break;
      case k::dtype::bf16:
        for (size_t i = 0; i < n; ++i)
          reinterpret_cast<uint16_t*>(row)[i] = k::fp32_to_bf16(src[i]);
        break;
      case k::dtype::q8_0:
        k::reference::quantize_row_q8_0(src, reinterpret_cast<k::block_q8_0*>(row), n);
        break;
    }
  }
  return bytes;
}

inline std::vector<k::block_q8_0> quantized(const std::vector<float>& x) {
  std::vector<k::block_q8_0> q(x.size() / 32);
  k::reference::quantize_row_q8_0(x.data(), q.data(), x.size());
  return q;
}

struct isa_name {
  std::string operator()(const ::testing::TestParamInfo<const k::kernel_table*>& info) const {
    return info.param->isa;
  }
};

}  // namespace edgecloud::testing

// Instantiates a TEST_P suite once per kernel table the CPU supports. gtest evaluates the
// generator after static initialisation, when every arch unit has registered its table.
#define EDGECLOUD_INSTANTIATE_PER_ISA(suite)                                              \
  INSTANTIATE_TEST_SUITE_P(Isa, suite,                                                    \
                           ::testing::ValuesIn(::edgecloud::kernels::supported_tables()), \
                           ::edgecloud::testing::isa_name())
