// SPDX-License-Identifier: Apache-2.0
// matvec / matmul for every weight type: the scalar reference against an exact (double, Eigen)
// product, and every ISA table against the reference, on odd shapes (n not a power of two, rows
// not a multiple of any blocking, m = 1..17, partial row ranges).
//
// Tolerances are rigorous rounding bounds, so a correct kernel can never fail them, while a
// dropped or doubled term (a tail bug) exceeds them by orders of magnitude:
// - float weights: any summation order of n products has |error| <= gamma_{n+1} * sum|w_i x_i|
//   (Higham, Accuracy and Stability of Numerical Algorithms, 2002, eq. 3.5);
// - Q8_0: the 32-term integer dot products are exact, each block adds two float roundings
//   (d_w*d_x, then *isum), the nb block terms one sum: gamma_{nb+2} * sum_b |d_w d_x isum_b|,
//   bounded above by sum|w_i x_i| of the dequantized values.
// Two results that each meet the bound differ by at most twice it.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include "kernel_test_support.hpp"

using namespace edgecloud::testing;

namespace {

constexpr k::dtype all_types[] = {k::dtype::f32, k::dtype::f16, k::dtype::bf16, k::dtype::q8_0};

// The problem: W (rows x n, type t), m activation rows, in both float and Q8_0 form.
struct problem {
  k::dtype t;
  size_t rows, n, m;
  std::vector<unsigned char> W;
  std::vector<float> X;
  std::vector<k::block_q8_0> Xq;

  problem(k::dtype t_, size_t rows_, size_t n_, size_t m_, uint32_t seed)
      : t(t_),
        rows(rows_),
        n(n_),
        m(m_),
        W(random_weights(t_, rows_, n_, seed)),
        X(random_floats(m_ * n_, seed + 1, -2.0f, 2.0f)) {
    if (t == k::dtype::q8_0) {
      Xq.resize(m * n / 32);
      k::reference::quantize_row_q8_0(X.data(), Xq.data(), m * n);
    }
  }
  const k::block_q8_0* xq(size_t i) const { return Xq.empty() ? nullptr : Xq.data() + i * n / 32; }
  const float* x(size_t i) const { return X.data() + i * n; }

  // Dequantized operands in double: the values the kernels multiply.
  Eigen::MatrixXd weights() const {
    Eigen::MatrixXd w(rows, n);
    std::vector<float> row(n);
    for (size_t r = 0; r < rows; ++r) {
      k::reference::dequantize_row(t, W.data() + r * k::row_bytes(t, n), row.data(), n);
      for (size_t i = 0; i < n; ++i) w(r, i) = row[i];
    }
    return w;
  }
  Eigen::MatrixXd activations() const {  // n x m
    Eigen::MatrixXd a(n, m);
    std::vector<float> row(n);
    for (size_t i = 0; i < m; ++i) {
      if (t == k::dtype::q8_0) {
        k::reference::dequantize_row(k::dtype::q8_0, xq(i), row.data(), n);
      } else {
        std::copy(x(i), x(i) + n, row.begin());
      }
      for (size_t j = 0; j < n; ++j) a(j, i) = row[j];
    }
    return a;
  }
  // Rounding bound of one output (see the file comment), from sum |w_i x_i|.
  Eigen::MatrixXd bounds() const {
    const double g = t == k::dtype::q8_0 ? gamma_n(double(n / 32 + 2)) : gamma_n(double(n + 1));
    return (weights().cwiseAbs() * activations().cwiseAbs()) * g;
  }
};

std::vector<size_t> columns_for(k::dtype t) {
  if (t == k::dtype::q8_0) return {32, 64, 96, 160, 1024, 32 * 37};
  return {1, 7, 31, 64, 129, 1000, 1027};
}

}  // namespace

TEST(MatvecReference, MatchesExactProduct) {
  for (k::dtype t : all_types) {
    for (size_t n : columns_for(t)) {
      problem p(t, 19, n, 1, uint32_t(n));
      std::vector<float> y(p.rows);
      k::reference::matvec(t, p.W.data(), n, p.x(0), p.xq(0), y.data(), 0, p.rows);
      const Eigen::MatrixXd exact = p.weights() * p.activations();
      const Eigen::MatrixXd bound = p.bounds();
      for (size_t r = 0; r < p.rows; ++r) {
        EXPECT_NEAR(y[r], exact(r, 0), bound(r, 0) + 1e-30) << k::dtype_name(t) << " n=" << n;
      }
    }
  }
}

TEST(MatmulReference, MatchesExactProduct) {
  for (k::dtype t : all_types) {
    problem p(t, 13, t == k::dtype::q8_0 ? 96 : 45, 5, 11);
    const size_t ldy = p.rows + 3;
    std::vector<float> Y(p.m * ldy);
    k::reference::matmul(t, p.W.data(), p.n, p.m, p.X.data(), p.xq(0), Y.data(), ldy, 0, p.rows);
    const Eigen::MatrixXd exact = p.weights() * p.activations();
    const Eigen::MatrixXd bound = p.bounds();
    for (size_t i = 0; i < p.m; ++i) {
      for (size_t r = 0; r < p.rows; ++r) EXPECT_NEAR(Y[i * ldy + r], exact(r, i), bound(r, i));
    }
  }
}

class MatvecPerIsa : public ::testing::TestWithParam<const k::kernel_table*> {};

TEST_P(MatvecPerIsa, MatchesReferenceOnOddShapes) {
  const auto& table = *GetParam();
  constexpr float sentinel = 12345.0f;
  for (k::dtype t : all_types) {
    for (size_t n : columns_for(t)) {
      for (size_t rows : {1u, 3u, 17u, 37u, 69u}) {
        problem p(t, rows, n, 1, uint32_t(rows * 7 + n));
        const Eigen::MatrixXd bound = p.bounds();
        // the full range, then an interior range that starts and ends off any blocking
        for (auto [r0, r1] : {std::pair<size_t, size_t>{0, rows}, {rows / 3, rows - rows / 4}}) {
          std::vector<float> got(rows, sentinel), want(rows);
          table.matvec(t, p.W.data(), n, p.x(0), p.xq(0), got.data(), r0, r1);
          k::reference::matvec(t, p.W.data(), n, p.x(0), p.xq(0), want.data(), 0, rows);
          for (size_t r = 0; r < rows; ++r) {
            if (r < r0 || r >= r1) {
              ASSERT_EQ(got[r], sentinel) << "wrote outside [r0, r1)";
            } else {
              ASSERT_NEAR(got[r], want[r], 2 * bound(r, 0) + 1e-30)
                  << k::dtype_name(t) << " n=" << n << " rows=" << rows << " r=" << r;
            }
          }
        }
      }
    }
  }
}

TEST_P(MatvecPerIsa, MatmulMatchesReferenceForEveryTokenCount) {
  const auto& table = *GetParam();
  constexpr float sentinel = -777.0f;
  for (k::dtype t : all_types) {
    const size_t n = t == k::dtype::q8_0 ? 32 * 35 : 203;
    for (size_t m = 1; m <= 17; ++m) {
      for (size_t rows : {1u, 5u, 13u, 37u}) {
        problem p(t, rows, n, m, uint32_t(m * 100 + rows));
        const Eigen::MatrixXd bound = p.bounds();
        const size_t ldy = rows + 2, r0 = rows > 4 ? 1 : 0, r1 = rows;
        std::vector<float> got(m * ldy, sentinel), want(m * ldy);
        table.matmul(t, p.W.data(), n, m, p.X.data(), p.xq(0), got.data(), ldy, r0, r1);
        k::reference::matmul(t, p.W.data(), n, m, p.X.data(), p.xq(0), want.data(), ldy, 0, rows);
        for (size_t i = 0; i < m; ++i) {
          for (size_t r = 0; r < ldy; ++r) {
            if (r < r0 || r >= r1) {
              ASSERT_EQ(got[i * ldy + r], sentinel) << "wrote outside [r0, r1) / ldy padding";
            } else {
              ASSERT_NEAR(got[i * ldy + r], want[i * ldy + r], 2 * bound(r, i) + 1e-30)
                  << k::dtype_name(t) << " m=" << m << " rows=" << rows << " i=" << i << " r=" << r;
            }
          }
        }
      }
    }
  }
}

// Weights straight from a file may hold any int8, including -128 (never produced by the
// quantizer): the sign trick (|w| as u8) and the +128 offset of the VNNI prefill path must stay
// exact for it. Activations always come from quantize_row_q8_0, so they stay in [-127, 127].
TEST_P(MatvecPerIsa, Q8_0ExtremeWeightBytesAreExact) {
  const auto& table = *GetParam();
  const size_t n = 32 * 9, rows = 21, m = 6, nb = n / 32;
  std::mt19937 gen(77);
  std::vector<k::block_q8_0> W(rows * nb);
  for (size_t i = 0; i < W.size(); ++i) {
    W[i].d = k::fp32_to_fp16(1.0f / 64);  // power of two: every product below is exact
    for (auto& q : W[i].qs) q = static_cast<int8_t>(i % 3 == 0 ? -128 : int(gen() % 256) - 128);
  }
  auto X = random_floats(m * n, 78, -1.0f, 1.0f);
  for (size_t j = 0; j < 32; ++j) X[j] = j % 2 ? 1.0f : -1.0f;  // |q| = 127 everywhere in a block
  std::vector<k::block_q8_0> Xq(m * nb);
  k::reference::quantize_row_q8_0(X.data(), Xq.data(), m * n);
  for (auto& b : Xq) b.d = k::fp32_to_fp16(1.0f / 128);
  // With d_w = 2^-6 and d_x = 2^-7 every partial sum is an exact float: results must match.
  std::vector<float> got(m * rows), want(m * rows);
  table.matmul(k::dtype::q8_0, W.data(), n, m, nullptr, Xq.data(), got.data(), rows, 0, rows);
  k::reference::matmul(k::dtype::q8_0, W.data(), n, m, nullptr, Xq.data(), want.data(), rows, 0,
                       rows);
  EXPECT_EQ(got, want);
  table.matvec(k::dtype::q8_0, W.data(), n, nullptr, Xq.data(), got.data(), 0, rows);
  for (size_t r = 0; r < rows; ++r) EXPECT_EQ(got[r], want[r]) << r;
}

EDGECLOUD_INSTANTIATE_PER_ISA(MatvecPerIsa);

TEST(MatvecApi, RejectsWhatItCannotCompute) {
  std::vector<float> x(40), y(1);
  std::vector<k::block_q8_0> w(2);
  EXPECT_THROW(k::matvec(k::dtype::q8_0, w.data(), 40, x.data(), nullptr, y.data(), 0, 1),
               edgecloud::config_error);
  EXPECT_THROW(k::matvec(k::dtype::q8_0, w.data(), 64, x.data(), nullptr, y.data(), 0, 1),
               edgecloud::config_error);
  EXPECT_THROW(k::matvec(static_cast<k::dtype>(2), w.data(), 32, x.data(), nullptr, y.data(), 0, 1),
               edgecloud::config_error);
  EXPECT_THROW(k::matvec(k::dtype::f32, w.data(), 8, nullptr, nullptr, y.data(), 0, 1),
               edgecloud::config_error);
}

TEST(MatvecApi, DispatchedEqualsActiveTable) {
  problem p(k::dtype::q8_0, 9, 64, 1, 5);
  std::vector<float> a(9), b(9);
  k::matvec(p.t, p.W.data(), p.n, nullptr, p.xq(0), a.data(), 0, 9);
  k::active_table().matvec(p.t, p.W.data(), p.n, nullptr, p.xq(0), b.data(), 0, 9);
  EXPECT_EQ(a, b);
}
