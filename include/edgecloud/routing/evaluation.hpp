// SPDX-License-Identifier: Apache-2.0
// Offline evaluation of edge/cloud routing from labeled records: on-device rate, edge accuracy,
// cloud-call rate, latency percentiles, RouteLLM's routing metrics and calibration error.
//
// The router here is "send to the cloud iff edge confidence < t". Sweeping t from below the
// smallest confidence to above the largest sends the least confident requests first and traces
// the quality-versus-cloud-fraction curve: with records sorted by confidence ascending, sending
// the first k gives
//     Q(k/N) = ( Σ_{i<k} cloud_quality_i + Σ_{i≥k} edge_quality_i ) / N.
// Records with equal confidence cannot be split by any threshold, so the curve has a point only
// after each group of equal confidences; between points it is linear (what routing a random
// share of a tie group gives in expectation).
//
// RouteLLM (Ong et al., 2024, "RouteLLM: Learning to Route LLMs with Preference Data"):
//   PGR(c)   = (Q(c) − Q_edge) / (Q_cloud − Q_edge)      performance gap recovered
//   CPT(x)   = the smallest cloud fraction c with PGR(c) ≥ x (first crossing, linear between
//              curve points, as numpy.interp does in RouteLLM's evaluate.py)
//   APGR     = ∫₀¹ PGR(c) dc (trapezoids over the curve points) = (AUC − Q_edge)/(Q_cloud − Q_edge)
// All three are NaN when the cloud is not better than the edge (no gap to recover).
//
// Out-of-scope requests: policy_config::cloud_labels names the labels that mean "no device
// intent, this belongs in the cloud" (CLINC150's "oos"). A record whose gold label is one is
// out of scope; one the edge classified as one goes to the cloud at the operating point.
//   in_scope_accuracy = mean edge quality over the in-scope records (top-1, routing aside)
//   oos_to_cloud      = share of the out-of-scope records sent to the cloud
// Both are NaN when there is no such record. A record whose out-of-set mass exceeds
// max_out_of_set_mass goes to the cloud too (the policy's task.out_of_set rule). The curve (and CPT/APGR) sweeps the confidence
// threshold alone.
//
// Expected calibration error, equal-width bins B_1..B_M over [0, 1] (confidence 1 in the last):
//   ECE = Σ_m |B_m|/N · | mean(correct in B_m) − mean(confidence in B_m) |.
#pragma once

#include <algorithm>
#include <cmath>
#include <edgecloud/error.hpp>
#include <edgecloud/routing/stats.hpp>
#include <edgecloud/routing/types.hpp>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::routing {

struct labeled_record {
  std::string query;
  task_type task = task_type::intent;
  std::string gold;                    // the right label / answer key
  std::string edge_prediction;         // what the edge answered
  double edge_confidence = 0.0;        // the edge's confidence in it
  std::optional<double> edge_quality;  // graded quality in [0, 1]; default: prediction == gold
  double cloud_quality = 0.0;          // 1/0 correctness or a graded score in [0, 1]
  double edge_latency_ms = 0.0;        // edge pre-processing (+ edge answer)
  double cloud_latency_ms = 0.0;       // the cloud call, if made
  std::optional<route> routed;         // the route the assistant really took, if known
  std::vector<double> label_scores;    // optional: the edge's score per label (temperature fit)
  std::optional<size_t> gold_index;    // optional: index of the gold label in label_scores
  double out_of_set_mass = 0.0;        // probability the edge put outside the labels

  double edge_score() const {
    return edge_quality ? *edge_quality : (edge_prediction == gold ? 1.0 : 0.0);
  }
};

struct curve_point {
  double cloud_fraction = 0.0;  // share of requests sent to the cloud
  double quality = 0.0;         // mean quality of the routed answers
  double threshold = 0.0;       // a threshold that produces this point (cloud iff conf < t)
};

// The quality-versus-cloud-fraction curve of confidence-threshold routing; first point is all
// edge (fraction 0), last is all cloud (fraction 1). Empty input gives an empty curve.
inline std::vector<curve_point> routing_curve(std::span<const labeled_record> records) {
  std::vector<curve_point> curve;
  if (records.empty()) return curve;
  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return records[a].edge_confidence < records[b].edge_confidence;
  });
  const double n = static_cast<double>(records.size());
  double sum = 0.0;
  for (const labeled_record& r : records) sum += r.edge_score();
  curve.push_back({0.0, sum / n, records[order.front()].edge_confidence});
  for (size_t i = 0; i < order.size();) {
    double c = records[order[i]].edge_confidence;
    size_t j = i;
    while (j < order.size() && records[order[j]].edge_confidence == c) {
      sum += records[order[j]].cloud_quality - records[order[j]].edge_score();
      ++j;
    }
    double threshold = j < order.size()
                           ? records[order[j]].edge_confidence
                           : std::nextafter(c, std::numeric_limits<double>::infinity());
    curve.push_back({static_cast<double>(j) / n, sum / n, threshold});
    i = j;
  }
  return curve;
}

// CPT(x) on a curve: the smallest cloud fraction whose quality recovers `gap_fraction` of the
// gap between all-edge (curve.front()) and all-cloud (curve.back()). NaN without a gap.
inline double cost_to_reach(std::span<const curve_point> curve, double gap_fraction) {
  if (curve.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double q_edge = curve.front().quality, q_cloud = curve.back().quality;
  if (!(q_cloud > q_edge)) return std::numeric_limits<double>::quiet_NaN();
  // Qualities are sums of a few doubles: compare with a tolerance so that a target reached
  // exactly on paper (3/5 vs 0.4 + 0.5·0.4) is reached in floating point too.
  const double eps = 1e-12;
  double target = q_edge + gap_fraction * (q_cloud - q_edge);
  if (curve.front().quality >= target - eps) return 0.0;
  for (size_t i = 1; i < curve.size(); ++i) {
    if (curve[i].quality >= target - eps) {
      const curve_point& a = curve[i - 1];
      const curve_point& b = curve[i];
      double t = std::clamp((target - a.quality) / (b.quality - a.quality), 0.0, 1.0);
      return a.cloud_fraction + t * (b.cloud_fraction - a.cloud_fraction);
    }
  }
  return 1.0;
}

// APGR: area under PGR(c) for c in [0, 1]. NaN without a gap.
inline double average_performance_gap_recovered(std::span<const curve_point> curve) {
  if (curve.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double q_edge = curve.front().quality, q_cloud = curve.back().quality;
  if (!(q_cloud > q_edge)) return std::numeric_limits<double>::quiet_NaN();
  double area = 0.0;
  for (size_t i = 1; i < curve.size(); ++i)
    area += (curve[i].cloud_fraction - curve[i - 1].cloud_fraction) *
            (curve[i].quality + curve[i - 1].quality) / 2.0;
  return (area - q_edge) / (q_cloud - q_edge);
}

// ECE with `bins` equal-width bins. `correct` holds 1/0 (or graded accuracy in [0, 1]).
inline double expected_calibration_error(std::span<const double> confidence,
                                         std::span<const double> correct, size_t bins = 10) {
  if (confidence.size() != correct.size())
    throw config_error("expected_calibration_error: " + std::to_string(confidence.size()) +
                       " confidences but " + std::to_string(correct.size()) + " outcomes");
  if (bins == 0) throw config_error("expected_calibration_error: bins must be > 0");
  if (confidence.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> conf_sum(bins, 0.0), acc_sum(bins, 0.0);
  std::vector<size_t> count(bins, 0);
  for (size_t i = 0; i < confidence.size(); ++i) {
    double c = std::clamp(confidence[i], 0.0, 1.0);
    size_t b = std::min(static_cast<size_t>(c * static_cast<double>(bins)), bins - 1);
    conf_sum[b] += c;
    acc_sum[b] += correct[i];
    ++count[b];
  }
  double ece = 0.0;
  for (size_t b = 0; b < bins; ++b)
    if (count[b])
      ece += std::abs(acc_sum[b] - conf_sum[b]) / static_cast<double>(confidence.size());
  return ece;
}

struct evaluation_report {
  size_t records = 0;
  double on_device_rate = 0.0;           // share answered on the edge at the operating point
  double cloud_call_rate = 0.0;          // 1 − on_device_rate
  double edge_accuracy = 0.0;            // mean edge quality over all records
  double edge_accuracy_on_device = 0.0;  // mean edge quality over the records kept on the edge
  double routed_quality = 0.0;           // mean quality of the answers actually given
  double edge_only_quality = 0.0;        // Q_edge
  double cloud_only_quality = 0.0;       // Q_cloud
  double latency_p50_ms = 0.0, latency_p95_ms = 0.0, latency_p99_ms = 0.0;
  double cpt50 = 0.0, cpt80 = 0.0;  // cloud fractions (0..1)
  double apgr = 0.0;
  double ece = 0.0;
  double in_scope_accuracy = 0.0;  // NaN without in-scope records
  double oos_to_cloud = 0.0;       // NaN without out-of-scope records
  size_t out_of_scope = 0;         // records whose gold label is a cloud label
  std::vector<curve_point> curve;
};

// Whether a record goes to the cloud at the operating point: the route the assistant took if
// the record says so, else the policy's task rules (cloud task, or confidence < threshold).
inline bool routed_to_cloud(const labeled_record& r, const policy_config& config) {
  if (r.routed) return *r.routed == route::cloud;
  if (std::find(config.cloud_tasks.begin(), config.cloud_tasks.end(), r.task) !=
      config.cloud_tasks.end())
    return true;
  if (r.task == task_type::intent && is_cloud_label(config, r.edge_prediction)) return true;
  // The policy's task.out_of_set rule, as confidence_policy applies it.
  if (task_thresholds::has_threshold(r.task) && r.out_of_set_mass > config.max_out_of_set_mass)
    return true;
  return !(r.edge_confidence >= config.thresholds.for_task(r.task));
}

inline evaluation_report evaluate(std::span<const labeled_record> records,
                                  const policy_config& config = {}, size_t ece_bins = 10) {
  evaluation_report rep;
  rep.records = records.size();
  if (records.empty()) return rep;
  const double n = static_cast<double>(records.size());
  size_t on_device = 0, in_scope = 0, oos_cloud = 0;
  double in_scope_sum = 0;
  double edge_sum = 0, edge_on_device_sum = 0, routed_sum = 0, cloud_sum = 0;
  std::vector<double> latencies, confidences, correctness;
  latencies.reserve(records.size());
  for (const labeled_record& r : records) {
    bool cloud = routed_to_cloud(r, config);
    double e = r.edge_score();
    edge_sum += e;
    cloud_sum += r.cloud_quality;
    if (cloud) {
      routed_sum += r.cloud_quality;
      latencies.push_back(r.edge_latency_ms + r.cloud_latency_ms);
    } else {
      ++on_device;
      edge_on_device_sum += e;
      routed_sum += e;
      latencies.push_back(r.edge_latency_ms);
    }
    confidences.push_back(r.edge_confidence);
    correctness.push_back(e);
    if (is_cloud_label(config, r.gold)) {
      ++rep.out_of_scope;
      oos_cloud += cloud;
    } else {
      ++in_scope;
      in_scope_sum += e;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  rep.in_scope_accuracy = in_scope ? in_scope_sum / static_cast<double>(in_scope) : nan;
  rep.oos_to_cloud = rep.out_of_scope
                         ? static_cast<double>(oos_cloud) / static_cast<double>(rep.out_of_scope)
                         : nan;
  rep.on_device_rate = static_cast<double>(on_device) / n;
  rep.cloud_call_rate = 1.0 - rep.on_device_rate;
  rep.edge_accuracy = edge_sum / n;
  rep.edge_accuracy_on_device = on_device ? edge_on_device_sum / static_cast<double>(on_device)
                                          : std::numeric_limits<double>::quiet_NaN();
  rep.routed_quality = routed_sum / n;
  rep.edge_only_quality = edge_sum / n;
  rep.cloud_only_quality = cloud_sum / n;
  std::sort(latencies.begin(), latencies.end());
  rep.latency_p50_ms = quantile_sorted(latencies, 0.50);
  rep.latency_p95_ms = quantile_sorted(latencies, 0.95);
  rep.latency_p99_ms = quantile_sorted(latencies, 0.99);
  rep.curve = routing_curve(records);
  rep.cpt50 = cost_to_reach(rep.curve, 0.5);
  rep.cpt80 = cost_to_reach(rep.curve, 0.8);
  rep.apgr = average_performance_gap_recovered(rep.curve);
  rep.ece = expected_calibration_error(confidences, correctness, ece_bins);
  return rep;
}

}  // namespace edgecloud::routing
