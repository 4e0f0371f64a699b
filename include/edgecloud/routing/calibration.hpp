// SPDX-License-Identifier: Apache-2.0
// Calibration on the user's own labeled data: per-task confidence thresholds for a target
// cloud-call rate or a target quality, and a softmax temperature per task.
//
// Threshold for a cloud-call rate r (RouteLLM's calibrate_threshold.py): RouteLLM sends a query
// to the strong model iff its win-rate score ≥ quantile(scores, 1 − r). Our score is the edge's
// confidence, which orders queries the other way, so the same rule reads "cloud iff
// confidence < t" with t = quantile(confidences, r) (type-7 linear quantile, numpy's default,
// see stats.hpp). r = 1 returns a threshold above every confidence (all cloud).
//
// Threshold for a target quality: the smallest cloud fraction on the routing curve (see
// evaluation.hpp) whose mean quality reaches the target, and the threshold that produces it.
//
// Threshold for a target on-device accuracy A (selective classification): with the records the
// edge may answer (prediction not a cloud label) sorted by confidence descending, keeping the
// first k on the device gives the accuracy acc(k) = Σ_{i<k} edge_quality_i / k. The threshold is
// the confidence of the largest k (a whole group of equal confidences) with acc(k) ≥ A: the
// most requests on the device whose answers are still right at rate A on the data. When no k
// reaches A, every request goes to the cloud (threshold above the largest confidence).
// Traffic mix: calibration data rarely holds out-of-scope requests (gold label a cloud label,
// e.g. `oos`) in the share live traffic will. With an expected share S (calibration_target::
// cloud_gold_share) every such record weighs w = (S / (1 − S)) · (n_in / n_oos), so they make S of
// the weighted data, and acc(k) = Σ_{i<k} w_i q_i / Σ_{i<k} w_i: the threshold holds the target
// on that mix, not on the data's. The reported cloud rate and quality are weighted the same way.
//
// Temperature scaling (Guo et al., 2017): p_i = softmax(s / T)_i over the label scores s.
// With β = 1/T, NLL(β) = Σ_n [ log Σ_i exp(β s_ni) − β s_n,gold ] is convex in β (log-sum-exp of
// functions linear in β, minus a linear term), hence unimodal in log β, so a golden-section
// search over log T ∈ [log T_min, log T_max] finds the global minimum (to 1e-9 in log T).
#pragma once

#include <algorithm>
#include <cmath>
#include <edgecloud/error.hpp>
#include <edgecloud/routing/evaluation.hpp>
#include <edgecloud/routing/stats.hpp>
#include <edgecloud/routing/types.hpp>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace edgecloud::routing {

// Threshold t such that "cloud iff confidence < t" sends about `target_cloud_rate` of the
// requests to the cloud.
inline double threshold_for_cloud_rate(std::span<const double> confidences,
                                       double target_cloud_rate) {
  if (confidences.empty()) throw config_error("calibration: no records to calibrate on");
  if (!(target_cloud_rate >= 0.0 && target_cloud_rate <= 1.0))
    throw config_error("calibration: target cloud rate must be in [0, 1], got " +
                       std::to_string(target_cloud_rate));
  std::vector<double> sorted(confidences.begin(), confidences.end());
  std::sort(sorted.begin(), sorted.end());
  if (target_cloud_rate >= 1.0)
    return std::nextafter(sorted.back(), std::numeric_limits<double>::infinity());
  return quantile_sorted(sorted, target_cloud_rate);
}

struct quality_threshold {
  double threshold = 0.0;   // cloud iff confidence < threshold
  double cloud_rate = 0.0;  // the cloud fraction it gives on the data
  double quality = 0.0;     // the mean quality it gives on the data
  bool reachable = false;   // false: even all-cloud misses the target (threshold = all cloud)
};

inline quality_threshold threshold_for_quality(std::span<const labeled_record> records,
                                               double target_quality) {
  if (records.empty()) throw config_error("calibration: no records to calibrate on");
  std::vector<curve_point> curve = routing_curve(records);
  for (const curve_point& p : curve)
    if (p.quality >= target_quality - 1e-12)
      return {p.threshold, p.cloud_fraction, p.quality, true};
  // Unreachable: the best the data allows is the point of highest quality.
  const curve_point* best = &curve.front();
  for (const curve_point& p : curve)
    if (p.quality > best->quality) best = &p;
  return {best->threshold, best->cloud_fraction, best->quality, false};
}

// Records whose prediction is one of `cloud_labels`, or whose out-of-set mass exceeds
// `max_out_of_set_mass`, go to the cloud whatever the threshold.
// A record's weight in the traffic mix: `cloud_gold_weight` when its gold label is a cloud label.
inline double mix_weight(const labeled_record& r, const std::vector<std::string>& cloud_labels,
                         double cloud_gold_weight) {
  return is_cloud_label(cloud_labels, r.gold) ? cloud_gold_weight : 1.0;
}

// `cloud_gold_weight` weighs the records whose gold label is a cloud label (see the traffic mix
// above; 1: as the data has them).
inline quality_threshold threshold_for_edge_accuracy(std::span<const labeled_record> records,
                                                     double target_accuracy,
                                                     const std::vector<std::string>& cloud_labels = {},
                                                     double max_out_of_set_mass = 1.0,
                                                     double cloud_gold_weight = 1.0) {
  if (records.empty()) throw config_error("calibration: no records to calibrate on");
  if (!(cloud_gold_weight > 0.0) || !std::isfinite(cloud_gold_weight))
    throw config_error("calibration: the out-of-scope weight must be a positive number");
  const auto weight = [&](const labeled_record& r) { return mix_weight(r, cloud_labels, cloud_gold_weight); };
  double total = 0.0;
  for (const labeled_record& r : records) total += weight(r);
  std::vector<const labeled_record*> edge;
  for (const labeled_record& r : records)
    if (!is_cloud_label(cloud_labels, r.edge_prediction) &&
        !(r.out_of_set_mass > max_out_of_set_mass))
      edge.push_back(&r);
  std::stable_sort(edge.begin(), edge.end(), [](const labeled_record* a, const labeled_record* b) {
    return a->edge_confidence > b->edge_confidence;
  });
  double above_all = -std::numeric_limits<double>::infinity();
  for (const labeled_record& r : records) above_all = std::max(above_all, r.edge_confidence);
  quality_threshold best{std::nextafter(above_all, std::numeric_limits<double>::infinity()), 1.0,
                         0.0, false};
  double right = 0.0, kept = 0.0;
  for (size_t i = 0; i < edge.size();) {
    const double c = edge[i]->edge_confidence;
    size_t j = i;
    for (; j < edge.size() && edge[j]->edge_confidence == c; ++j) {
      const double w = weight(*edge[j]);
      right += w * edge[j]->edge_score();
      kept += w;
    }
    const double acc = right / kept;
    if (acc >= target_accuracy - 1e-12) {
      best.threshold = c;
      best.quality = acc;
      best.cloud_rate = 1.0 - kept / total;
      best.reachable = true;
    }
    i = j;
  }
  return best;
}

struct calibration_target {
  enum class kind { cloud_rate, quality, edge_accuracy } what = kind::cloud_rate;
  double value = 0.3;
  // edge_accuracy, intent task: the share of live traffic whose gold label is a cloud label
  // (out of scope), in (0, 1); NaN: the data's own share (see "Traffic mix" above).
  double cloud_gold_share = std::numeric_limits<double>::quiet_NaN();
};

// The weight that makes the records with a cloud gold label `share` of the weighted data (1
// when share is NaN; throws when share is given but the data has no such record, or only such).
inline double cloud_gold_weight(std::span<const labeled_record> records,
                                const std::vector<std::string>& cloud_labels, double share) {
  if (std::isnan(share)) return 1.0;
  if (!(share > 0.0 && share < 1.0))
    throw config_error("calibration: the expected out-of-scope share must be in (0, 1), got " +
                       std::to_string(share));
  size_t oos = 0;
  for (const labeled_record& r : records) oos += is_cloud_label(cloud_labels, r.gold);
  if (oos == 0 || oos == records.size())
    throw config_error(std::string("calibration: an expected out-of-scope share needs records ") +
                       (oos == 0 ? "whose gold label is a cloud label (none has one)"
                                 : "of in-scope labels too (all are out of scope)"));
  return (share / (1.0 - share)) *
         (static_cast<double>(records.size() - oos) / static_cast<double>(oos));
}

struct task_calibration {
  size_t records = 0;
  double threshold = 0.0;
  double cloud_rate = 0.0;  // on the calibration data
  double quality = 0.0;     // on the calibration data
  double on_device_accuracy = 0.0;  // mean edge quality of the records kept on the edge (NaN: none)
  bool reachable = true;
  double cloud_gold_weight = 1.0;   // the weight of out-of-scope records (expected share given)
};

// Per-task thresholds for the tasks that have records (others keep `base`'s values). Records
// of cloud-only task types are ignored (they have no threshold).
inline std::map<task_type, task_calibration> calibrate_thresholds(
    std::span<const labeled_record> records, calibration_target target,
    task_thresholds* out = nullptr, const std::vector<std::string>& cloud_labels = {},
    double max_out_of_set_mass = 1.0) {
  std::map<task_type, std::vector<labeled_record>> by_task;
  for (const labeled_record& r : records) {
    if (task_thresholds::has_threshold(r.task)) by_task[r.task].push_back(r);
  }
  std::map<task_type, task_calibration> result;
  for (auto& [task, rs] : by_task) {
    task_calibration c;
    c.records = rs.size();
    double gold_weight = 1.0;  // edge_accuracy with an expected out-of-scope share: see above
    if (target.what == calibration_target::kind::cloud_rate) {
      std::vector<double> conf;
      for (const labeled_record& r : rs) conf.push_back(r.edge_confidence);
      c.threshold = threshold_for_cloud_rate(conf, target.value);
    } else if (target.what == calibration_target::kind::edge_accuracy) {
      const std::vector<std::string> none;
      const auto& labels = task == task_type::intent ? cloud_labels : none;
      if (task == task_type::intent) gold_weight = cloud_gold_weight(rs, labels, target.cloud_gold_share);
      quality_threshold q =
          threshold_for_edge_accuracy(rs, target.value, labels, max_out_of_set_mass, gold_weight);
      c.threshold = q.threshold;
      c.reachable = q.reachable;
    } else {
      quality_threshold q = threshold_for_quality(rs, target.value);
      c.threshold = q.threshold;
      c.reachable = q.reachable;
    }
    // Report what the chosen threshold does on the data (weighted to the expected mix).
    double cloud = 0.0, total = 0.0, quality = 0.0, on_device_right = 0.0;
    for (const labeled_record& r : rs) {
      bool to_cloud = r.edge_confidence < c.threshold || r.out_of_set_mass > max_out_of_set_mass ||
                      (task == task_type::intent && is_cloud_label(cloud_labels, r.edge_prediction));
      const double w = task == task_type::intent ? mix_weight(r, cloud_labels, gold_weight) : 1.0;
      total += w;
      cloud += to_cloud ? w : 0.0;
      quality += w * (to_cloud ? r.cloud_quality : r.edge_score());
      if (!to_cloud) on_device_right += w * r.edge_score();
    }
    c.cloud_rate = cloud / total;
    c.quality = quality / total;
    c.on_device_accuracy = cloud < total ? on_device_right / (total - cloud)
                                         : std::numeric_limits<double>::quiet_NaN();
    c.cloud_gold_weight = gold_weight;
    if (out) *out->for_task_mut(task) = c.threshold;
    result[task] = c;
  }
  return result;
}

// --- Temperature scaling.
struct scored_example {
  std::vector<double> label_scores;  // logits or log-probabilities, one per label
  size_t gold = 0;                   // index of the right label
};

inline std::vector<double> softmax_with_temperature(std::span<const double> scores,
                                                    double temperature) {
  if (!(temperature > 0)) throw config_error("temperature must be > 0");
  std::vector<double> p(scores.begin(), scores.end());
  if (p.empty()) return p;
  double m = *std::max_element(p.begin(), p.end());
  double z = 0;
  for (double& v : p) z += v = std::exp((v - m) / temperature);
  for (double& v : p) v /= z;
  return p;
}

// Mean negative log-likelihood of the gold labels at temperature T (numerically stable).
inline double negative_log_likelihood(std::span<const scored_example> examples,
                                      double temperature) {
  double total = 0.0;
  for (const scored_example& e : examples) {
    double m = -std::numeric_limits<double>::infinity();
    for (double s : e.label_scores) m = std::max(m, s / temperature);
    double z = 0.0;
    for (double s : e.label_scores) z += std::exp(s / temperature - m);
    total += m + std::log(z) - e.label_scores[e.gold] / temperature;
  }
  return total / static_cast<double>(examples.size());
}

struct temperature_fit {
  double temperature = 1.0;
  double nll_before = 0.0;  // at T = 1
  double nll_after = 0.0;   // at the fitted T
};

inline temperature_fit fit_temperature(std::span<const scored_example> examples,
                                       double min_temperature = 0.01,
                                       double max_temperature = 100.0) {
  if (examples.empty()) throw config_error("fit_temperature: no examples");
  for (const scored_example& e : examples)
    if (e.label_scores.empty() || e.gold >= e.label_scores.size())
      throw config_error("fit_temperature: an example's gold index " + std::to_string(e.gold) +
                         " is outside its " + std::to_string(e.label_scores.size()) +
                         " label scores");
  if (!(min_temperature > 0 && max_temperature > min_temperature))
    throw config_error("fit_temperature: need 0 < min_temperature < max_temperature");
  auto f = [&](double log_t) { return negative_log_likelihood(examples, std::exp(log_t)); };
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = std::log(min_temperature), b = std::log(max_temperature);
  double c = b - inv_phi * (b - a), d = a + inv_phi * (b - a);
  double fc = f(c), fd = f(d);
  while (b - a > 1e-9) {
    if (fc <= fd) {
      b = d, d = c, fd = fc;
      c = b - inv_phi * (b - a);
      fc = f(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + inv_phi * (b - a);
      fd = f(d);
    }
  }
  temperature_fit fit;
  fit.temperature = std::exp((a + b) / 2.0);
  fit.nll_before = negative_log_likelihood(examples, 1.0);
  fit.nll_after = negative_log_likelihood(examples, fit.temperature);
  return fit;
}

// Binary form when only the top confidence p and whether the answer was right are known:
// scores [logit(p), 0] with gold 0 if right, 1 if wrong (Platt scaling without a bias).
inline temperature_fit fit_temperature_binary(std::span<const double> confidence,
                                              std::span<const double> correct) {
  if (confidence.size() != correct.size())
    throw config_error("fit_temperature_binary: sizes differ");
  std::vector<scored_example> ex;
  ex.reserve(confidence.size());
  for (size_t i = 0; i < confidence.size(); ++i) {
    double p = std::clamp(confidence[i], 1e-9, 1.0 - 1e-9);
    ex.push_back({{std::log(p / (1.0 - p)), 0.0}, correct[i] >= 0.5 ? size_t{0} : size_t{1}});
  }
  return fit_temperature(ex);
}

// Per-task temperature from labeled records: the multi-class fit over label_scores where every
// record of the task has them, else the binary fit on (edge_confidence, edge correctness).
inline std::map<task_type, temperature_fit> fit_temperatures(
    std::span<const labeled_record> records) {
  std::map<task_type, std::vector<const labeled_record*>> by_task;
  for (const labeled_record& r : records) by_task[r.task].push_back(&r);
  std::map<task_type, temperature_fit> out;
  for (auto& [task, rs] : by_task) {
    bool scored = std::all_of(rs.begin(), rs.end(), [](const labeled_record* r) {
      return r->gold_index && *r->gold_index < r->label_scores.size();
    });
    if (scored) {
      std::vector<scored_example> ex;
      for (const labeled_record* r : rs) ex.push_back({r->label_scores, *r->gold_index});
      out[task] = fit_temperature(ex);
    } else {
      std::vector<double> conf, correct;
      for (const labeled_record* r : rs) {
        conf.push_back(r->edge_confidence);
        correct.push_back(r->edge_score());
      }
      out[task] = fit_temperature_binary(conf, correct);
    }
  }
  return out;
}

}  // namespace edgecloud::routing
