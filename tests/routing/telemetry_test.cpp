// SPDX-License-Identifier: Apache-2.0
// Telemetry: exact counters under many threads, exact small-sample percentiles (checked against
// an independent sort), bucket percentiles within their bucket past the exact capacity, and a
// Prometheus exposition that a strict line-by-line checker accepts.
#include <gtest/gtest.h>

#include <algorithm>
#include <edgecloud/routing/telemetry.hpp>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

using namespace edgecloud::routing;

namespace {

double nearest_rank_interpolated(std::vector<double> v, double p) {  // independent type-7
  std::sort(v.begin(), v.end());
  double h = (v.size() - 1) * p / 100.0;
  size_t lo = static_cast<size_t>(h);
  if (lo + 1 >= v.size()) return v.back();
  return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

TEST(LatencyHistogram, ExactPercentilesForSmallSamples) {
  latency_histogram h;
  std::vector<double> xs = {12, 3, 7, 250, 1.5, 42, 9, 9, 18, 31};
  for (double x : xs) h.record(x);
  EXPECT_EQ(h.count(), xs.size());
  for (double p : {0.0, 50.0, 95.0, 99.0, 100.0})
    EXPECT_NEAR(h.percentile(p), nearest_rank_interpolated(xs, p), 1e-9) << p;
  EXPECT_DOUBLE_EQ(h.percentile(50), 10.5);  // (9 + 12) / 2 by hand
  EXPECT_NEAR(h.sum_ms(), 382.5, 1e-6);
  EXPECT_DOUBLE_EQ(h.max_ms(), 250);
  // Buckets: 1.5 → (1,2], 3 → (2,5], 7/9/9 → (5,10], 12/18 → (10,20], 31/42 → (20,50], 250 →
  // (200,500].
  EXPECT_EQ(h.bucket(4), 1u);
  EXPECT_EQ(h.bucket(5), 1u);
  EXPECT_EQ(h.bucket(6), 3u);
  EXPECT_EQ(h.bucket(7), 2u);
  EXPECT_EQ(h.bucket(8), 2u);
  EXPECT_EQ(h.bucket(11), 1u);
}

TEST(LatencyHistogram, BucketPercentilesStayInsideTheRightBucketPastExactCapacity) {
  latency_histogram h;
  std::mt19937 rng(7);
  std::lognormal_distribution<double> dist(3.0, 1.0);  // median ~20 ms
  std::vector<double> xs;
  for (size_t i = 0; i < latency_histogram::exact_capacity * 3; ++i) {
    double x = dist(rng);
    xs.push_back(x);
    h.record(x);
  }
  for (double p : {50.0, 95.0, 99.0}) {
    double exact = nearest_rank_interpolated(xs, p);
    double approx = h.percentile(p);
    // Same 1-2-5 bucket → within a factor of 2.5 either way; in practice much closer.
    EXPECT_GT(approx, exact / 2.5) << p;
    EXPECT_LT(approx, exact * 2.5) << p;
  }
  EXPECT_LE(h.percentile(50), h.percentile(95));
  EXPECT_LE(h.percentile(95), h.percentile(99));
  EXPECT_LE(h.percentile(99), h.max_ms());
}

TEST(Telemetry, CountersAreExactUnderManyThreads) {
  telemetry t;
  const int threads = 8, per_thread = 5000;
  std::vector<std::thread> pool;
  for (int k = 0; k < threads; ++k)
    pool.emplace_back([&, k] {
      for (int i = 0; i < per_thread; ++i) {
        request_outcome o;
        o.task = (i % 2) ? task_type::intent : task_type::knowledge;
        o.served = (i % 3 == 0) ? route::cloud : route::edge;
        o.fallback = o.served == route::edge && i % 5 == 0;
        o.fallback_reason = "timeout";
        o.latency_ms = 1.0 + (i % 100);
        t.record(o);
        if (o.fallback) t.record_cloud_failure();
        if (o.served == route::cloud) t.record_cloud_usage(10, 5, 0.001);
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(t.requests_total(), uint64_t(threads * per_thread));
  uint64_t cloud_expected = 0, fallback_expected = 0;
  for (int i = 0; i < per_thread; ++i) {
    bool cloud = i % 3 == 0;
    cloud_expected += cloud;
    fallback_expected += !cloud && i % 5 == 0;
  }
  EXPECT_EQ(t.requests(route::cloud), cloud_expected * threads);
  EXPECT_EQ(t.fallbacks_total(), fallback_expected * threads);
  EXPECT_EQ(t.fallback_reasons().at("timeout"), fallback_expected * threads);
  EXPECT_EQ(t.errors(route::cloud), fallback_expected * threads);
  EXPECT_EQ(t.cloud_prompt_tokens(), cloud_expected * threads * 10);
  EXPECT_NEAR(t.cloud_cost_usd(), cloud_expected * threads * 0.001, 1e-9);
  uint64_t latency_total = 0;
  for (latency_path p : all_latency_paths) latency_total += t.latency(p).count();
  EXPECT_EQ(latency_total, t.requests_total());
  EXPECT_EQ(t.latency(latency_path::fallback).count(), t.fallbacks_total());
}

// A strict checker of the text exposition format for what we emit: every sample belongs to a
// family announced by # HELP then # TYPE, names and labels are well formed, values parse, and
// histograms have cumulative buckets ending in le="+Inf" equal to _count, plus _sum.
void check_prometheus(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::string family, type;
  std::map<std::string, bool> seen_family;
  const std::regex help_re(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  const std::regex type_re(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  const std::regex sample_re(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$)");
  std::map<std::string, std::vector<std::pair<std::string, double>>> buckets;  // series → (le, v)
  std::map<std::string, double> counts;
  std::map<std::string, bool> sums;
  std::smatch m;
  bool last_was_help = false;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty()) << "blank line";
    if (std::regex_match(line, m, help_re)) {
      family = m[1];
      ASSERT_FALSE(seen_family[family]) << "family announced twice: " << family;
      seen_family[family] = true;
      last_was_help = true;
      continue;
    }
    if (std::regex_match(line, m, type_re)) {
      ASSERT_TRUE(last_was_help) << line;
      ASSERT_EQ(m[1], family);
      type = m[2];
      last_was_help = false;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample_re)) << "bad sample line: " << line;
    std::string name = m[1];
    std::string labels = m[2];
    double value = std::stod(std::string(m[7]) == "+Inf" ? "inf" : std::string(m[7]));
    if (type == "histogram") {
      std::string series = std::regex_replace(labels, std::regex(R"re(,?le="[^"]*")re"), "");
      if (name == family + "_bucket") {
        std::smatch le;
        ASSERT_TRUE(std::regex_search(labels, le, std::regex(R"re(le="([^"]*)")re"))) << line;
        buckets[series].emplace_back(le[1], value);
      } else if (name == family + "_count") {
        counts[series] = value;
      } else if (name == family + "_sum") {
        sums[series] = true;
      } else {
        FAIL() << "unexpected histogram sample " << line;
      }
    } else {
      ASSERT_EQ(name, family) << "sample outside its family: " << line;
      if (type == "counter") ASSERT_GE(value, 0) << line;
    }
  }
  ASSERT_FALSE(buckets.empty());
  for (const auto& [series, bs] : buckets) {
    double prev_le = -1, prev_v = 0;
    for (const auto& [le, v] : bs) {
      double le_v = le == "+Inf" ? INFINITY : std::stod(le);
      ASSERT_GT(le_v, prev_le) << series;
      ASSERT_GE(v, prev_v) << "buckets not cumulative in " << series;
      prev_le = le_v;
      prev_v = v;
    }
    ASSERT_EQ(bs.back().first, "+Inf") << series;
    ASSERT_EQ(bs.back().second, counts.at(series)) << series;
    ASSERT_TRUE(sums.count(series)) << series;
  }
}

TEST(Telemetry, PrometheusExpositionIsValidAndCarriesTheNumbers) {
  telemetry t;
  t.record({route::edge, task_type::intent, false, "", false, "", 40.0});
  t.record({route::edge, task_type::intent, false, "", true, "network.offline", 60.0});
  t.record({route::cloud, task_type::knowledge, false, "", false, "", 900.0});
  t.record({route::edge, task_type::knowledge, true, "http \"503\"\nretry", false, "", 1500.0});
  t.record_cloud_failure();
  t.record_cloud_usage(120, 80, 0.0042);
  std::string text = t.to_prometheus();
  check_prometheus(text);
  EXPECT_NE(text.find("edgecloud_requests_total{route=\"edge\",task=\"intent\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("edgecloud_requests_total{route=\"cloud\",task=\"knowledge\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("edgecloud_fallbacks_total{task=\"knowledge\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("reason=\"http \\\"503\\\"\\nretry\""), std::string::npos)
      << "label escaping";
  EXPECT_NE(text.find("edgecloud_degraded_total{rule=\"network.offline\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("edgecloud_request_latency_seconds_bucket{path=\"edge\",le=\"0.05\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("edgecloud_request_latency_seconds_bucket{path=\"edge\",le=\"0.1\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("edgecloud_request_latency_seconds_count{path=\"fallback\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("edgecloud_request_latency_seconds_sum{path=\"cloud\"} 0.9\n"),
            std::string::npos);
  EXPECT_NE(text.find("edgecloud_cloud_tokens_total{kind=\"prompt\"} 120\n"), std::string::npos);
  EXPECT_NE(text.find("edgecloud_cloud_cost_usd_total 0.0042\n"), std::string::npos);

  nlohmann::json j = t.to_json();
  EXPECT_EQ(j["requests_total"], 4);
  EXPECT_DOUBLE_EQ(j["on_device_rate"].get<double>(), 0.75);
  EXPECT_EQ(j["requests"]["edge"]["intent"], 2);
  EXPECT_EQ(j["fallbacks_total"], 1);
  EXPECT_EQ(j["errors"]["cloud"], 1);
  EXPECT_DOUBLE_EQ(j["latency_ms"]["edge"]["p50"].get<double>(), 50.0);
  EXPECT_EQ(j["latency_ms"]["cloud"]["count"], 1);
  EXPECT_EQ(j["cloud"]["completion_tokens"], 80);
}

TEST(Telemetry, EmptyTelemetryExportsCleanly) {
  telemetry t;
  check_prometheus(t.to_prometheus());
  nlohmann::json j = t.to_json();
  EXPECT_EQ(j["requests_total"], 0);
  EXPECT_FALSE(j["latency_ms"]["edge"].contains("p50"));
}

}  // namespace
