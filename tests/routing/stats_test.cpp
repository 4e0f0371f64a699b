// SPDX-License-Identifier: Apache-2.0
// routing/stats.hpp: the type-7 quantile against a table computed by hand from its definition
// (h = (n - 1) q, Q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]); the same values
// numpy.quantile gives), percentiles as quantiles of p / 100, and the errors it promises.
#include <gtest/gtest.h>

#include <cmath>
#include <edgecloud/error.hpp>
#include <edgecloud/routing/stats.hpp>
#include <limits>
#include <vector>

namespace er = edgecloud::routing;

namespace {

struct row {
  std::vector<double> values;  // unsorted on purpose: quantile() sorts
  double q;
  double expected;
};

// Each expected value worked out by hand (numpy.quantile agrees):
//   {1, 3, 4, 8, 10}: h = 4q.  q = .1 -> h = .4 -> 1 + .4 * 2 = 1.8;  q = .3 -> 1.2 -> 3 + .2 * 1
//   = 3.2;  q = .6 -> 2.4 -> 4 + .4 * 4 = 5.6;  q = .9 -> 3.6 -> 8 + .6 * 2 = 9.2.
//   {0, 10}: h = q -> 10q.   {2, 2, 2, 5}: h = 3q; q = .9 -> 2.7 -> 2 + .7 * 3 = 4.1.
const std::vector<row> table = {
    {{8, 1, 10, 3, 4}, 0.0, 1.0},  {{8, 1, 10, 3, 4}, 0.1, 1.8},  {{8, 1, 10, 3, 4}, 0.25, 3.0},
    {{8, 1, 10, 3, 4}, 0.3, 3.2},  {{8, 1, 10, 3, 4}, 0.5, 4.0},  {{8, 1, 10, 3, 4}, 0.6, 5.6},
    {{8, 1, 10, 3, 4}, 0.75, 8.0}, {{8, 1, 10, 3, 4}, 0.9, 9.2},  {{8, 1, 10, 3, 4}, 1.0, 10.0},
    {{10, 0}, 0.33, 3.3},          {{10, 0}, 0.5, 5.0},           {{2, 5, 2, 2}, 0.5, 2.0},
    {{2, 5, 2, 2}, 0.9, 4.1},      {{-3.5}, 0.7, -3.5},           {{-1, -4}, 0.25, -3.25},
};

TEST(Stats, QuantileMatchesTheHandComputedTable) {
  for (const auto& r : table) {
    EXPECT_NEAR(er::quantile(r.values, r.q), r.expected, 1e-12) << "q = " << r.q;
    auto sorted = r.values;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_NEAR(er::quantile_sorted(sorted, r.q), r.expected, 1e-12) << "q = " << r.q;
  }
}

TEST(Stats, PercentileIsTheQuantileOfPOverHundred) {
  const std::vector<double> v = {8, 1, 10, 3, 4};
  EXPECT_NEAR(er::percentile(v, 50), 4.0, 1e-12);
  EXPECT_NEAR(er::percentile(v, 90), 9.2, 1e-12);
  EXPECT_NEAR(er::percentile(v, 99), 8 + 0.96 * 2, 1e-12);  // h = 3.96
  EXPECT_NEAR(er::percentile(v, 100), 10.0, 1e-12);
}

TEST(Stats, EmptyIsNanAndBadQIsAConfigError) {
  EXPECT_TRUE(std::isnan(er::quantile({}, 0.5)));
  EXPECT_TRUE(std::isnan(er::percentile({}, 50)));
  for (double q : {-0.01, 1.01, std::numeric_limits<double>::quiet_NaN()})
    EXPECT_THROW(er::quantile({1, 2, 3}, q), edgecloud::config_error) << q;
  EXPECT_THROW(er::percentile({1, 2}, 101), edgecloud::config_error);
}

TEST(Stats, MonotoneInQAndWithinTheSample) {
  const std::vector<double> v = {0.3, -2, 7.5, 7.5, 1e3, 4, -2, 0};
  double previous = -INFINITY;
  for (int i = 0; i <= 1000; ++i) {
    const double x = er::quantile(v, i / 1000.0);
    EXPECT_GE(x, previous);
    EXPECT_GE(x, -2.0);
    EXPECT_LE(x, 1e3);
    previous = x;
  }
}

}  // namespace
