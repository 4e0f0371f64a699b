// SPDX-License-Identifier: Apache-2.0
// Evaluation and calibration against small examples computed by hand (the arithmetic is in the
// comments), and properties: curve end points, bounds, monotonicity of CPT in the target,
// temperature recovery on data drawn from a known temperature.
#include <gtest/gtest.h>

#include <edgecloud/routing/calibration.hpp>
#include <edgecloud/routing/evaluation.hpp>
#include <edgecloud/routing/json.hpp>
#include <cmath>
#include <random>

using namespace edgecloud::routing;

namespace {

labeled_record rec(double conf, bool edge_right, double cloud_q, double edge_ms = 10,
                   double cloud_ms = 100) {
  labeled_record r;
  r.task = task_type::intent;
  r.gold = "a";
  r.edge_prediction = edge_right ? "a" : "b";
  r.edge_confidence = conf;
  r.cloud_quality = cloud_q;
  r.edge_latency_ms = edge_ms;
  r.cloud_latency_ms = cloud_ms;
  return r;
}

// conf 0.9 0.3 0.3 0.6 0.1; edge right 1 0 1 0 0 (Q_edge 0.4); cloud 1 1 0 1 1 (Q_cloud 0.8).
// Sorted: 0.1(e0,c1) | 0.3(e0,c1),(e1,c0) | 0.6(e0,c1) | 0.9(e1,c1)
// Curve: (0, .4) (.2, .6) (.6, .6) (.8, .8) (1, .8)
std::vector<labeled_record> five() {
  return {rec(0.9, true, 1), rec(0.3, false, 1), rec(0.3, true, 0), rec(0.6, false, 1),
          rec(0.1, false, 1)};
}

TEST(Evaluation, RoutingCurveByHandWithATieGroup) {
  auto rs = five();
  auto curve = routing_curve(rs);
  ASSERT_EQ(curve.size(), 5u);
  const double fr[] = {0, 0.2, 0.6, 0.8, 1.0}, q[] = {0.4, 0.6, 0.6, 0.8, 0.8},
               th[] = {0.1, 0.3, 0.6, 0.9};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(curve[i].cloud_fraction, fr[i], 1e-12) << i;
    EXPECT_NEAR(curve[i].quality, q[i], 1e-12) << i;
    if (i < 4) EXPECT_DOUBLE_EQ(curve[i].threshold, th[i]) << i;
  }
  EXPECT_GT(curve[4].threshold, 0.9);
  // Each point's threshold really produces it: cloud iff conf < threshold.
  for (const curve_point& p : curve) {
    double cloud = 0, quality = 0;
    for (const auto& r : rs) {
      bool c = r.edge_confidence < p.threshold;
      cloud += c;
      quality += c ? r.cloud_quality : r.edge_score();
    }
    EXPECT_NEAR(cloud / rs.size(), p.cloud_fraction, 1e-12);
    EXPECT_NEAR(quality / rs.size(), p.quality, 1e-12);
  }
}

TEST(Evaluation, CptAndApgrByHand) {
  auto rs = five();
  auto curve = routing_curve(rs);
  // CPT(50%): target 0.4 + 0.5·0.4 = 0.6, reached at the second point by interpolation t = 1 → 0.2.
  EXPECT_NEAR(cost_to_reach(curve, 0.5), 0.2, 1e-12);
  // CPT(80%): target 0.72, between (.6,.6) and (.8,.8): t = 0.12/0.2 = 0.6 → 0.72.
  EXPECT_NEAR(cost_to_reach(curve, 0.8), 0.72, 1e-12);
  // AUC = 0.2·0.5 + 0.4·0.6 + 0.2·0.7 + 0.2·0.8 = 0.64; APGR = (0.64 − 0.4)/0.4 = 0.6.
  EXPECT_NEAR(average_performance_gap_recovered(curve), 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(cost_to_reach(curve, 0.0), 0.0);
  EXPECT_NEAR(cost_to_reach(curve, 1.0), 0.8, 1e-12);
}

TEST(Evaluation, PerfectRouterAndNoGap) {
  // conf 0.2 0.4 0.6 0.8; edge wrong only on the least confident; cloud always right.
  std::vector<labeled_record> rs = {rec(0.2, false, 1), rec(0.4, true, 1), rec(0.6, true, 1),
                                    rec(0.8, true, 1)};
  auto curve = routing_curve(rs);
  // CPT50: target 0.875 between (0,.75) and (.25,1): 0.125. AUC = .25·.875 + .75 = 0.96875 → APGR
  // 0.875.
  EXPECT_NEAR(cost_to_reach(curve, 0.5), 0.125, 1e-12);
  EXPECT_NEAR(cost_to_reach(curve, 0.8), 0.2, 1e-12);
  EXPECT_NEAR(average_performance_gap_recovered(curve), 0.875, 1e-12);
  // No gap: the metrics are undefined, not a number that looks meaningful.
  std::vector<labeled_record> same = {rec(0.2, true, 1), rec(0.7, false, 0)};
  auto flat = routing_curve(same);
  EXPECT_TRUE(std::isnan(cost_to_reach(flat, 0.5)));
  EXPECT_TRUE(std::isnan(average_performance_gap_recovered(flat)));
}

TEST(Evaluation, ExpectedCalibrationErrorByHand) {
  // Bins of width 0.1: {0.05}: |0 − 0.05|·1/4; {0.15}: |0 − 0.15|·1/4; {0.95, 0.95}: |0.5 −
  // 0.95|·2/4.
  std::vector<double> conf = {0.05, 0.15, 0.95, 0.95}, correct = {0, 0, 1, 0};
  EXPECT_NEAR(expected_calibration_error(conf, correct), 0.0125 + 0.0375 + 0.225, 1e-12);
  // Confidence 1.0 falls in the last bin; a perfectly calibrated set has ECE 0.
  std::vector<double> c2 = {1.0, 1.0, 0.5, 0.5}, k2 = {1, 1, 1, 0};
  EXPECT_NEAR(expected_calibration_error(c2, k2), 0.0, 1e-12);
  EXPECT_THROW(expected_calibration_error(conf, k2 = {1}), edgecloud::config_error);
}

TEST(Evaluation, ReportAtTheOperatingPoint) {
  auto rs = five();
  policy_config c;
  c.thresholds.intent = 0.5;
  evaluation_report r = evaluate(rs, c);
  EXPECT_EQ(r.records, 5u);
  EXPECT_NEAR(r.on_device_rate, 0.4, 1e-12);  // 0.9 and 0.6 stay local
  EXPECT_NEAR(r.cloud_call_rate, 0.6, 1e-12);
  EXPECT_NEAR(r.edge_accuracy, 0.4, 1e-12);
  EXPECT_NEAR(r.edge_accuracy_on_device, 0.5, 1e-12);
  EXPECT_NEAR(r.routed_quality, 0.6, 1e-12);  // edge 1 + 0, cloud 1 + 1 + 0
  EXPECT_NEAR(r.latency_p50_ms, 110, 1e-12);  // [10, 10, 110, 110, 110]
  EXPECT_NEAR(r.latency_p95_ms, 110, 1e-12);
  EXPECT_NEAR(r.cpt50, 0.2, 1e-12);
  EXPECT_NEAR(r.apgr, 0.6, 1e-12);
  // A record that says where the assistant really sent it wins over the thresholds.
  rs[0].routed = route::cloud;
  EXPECT_NEAR(evaluate(rs, c).on_device_rate, 0.2, 1e-12);
  nlohmann::json j = evaluate(rs, c);
  EXPECT_NEAR(j["apgr"].get<double>(), 0.6, 1e-12);
  EXPECT_EQ(j["curve"].size(), 5u);
}

TEST(Evaluation, PropertiesOnRandomData) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<labeled_record> rs;
    for (int i = 0; i < 40; ++i) {
      double conf = std::round(u(rng) * 20) / 20;  // ties on purpose
      rs.push_back(rec(conf, u(rng) < conf, u(rng) < 0.9 ? 1 : 0));
    }
    auto curve = routing_curve(rs);
    ASSERT_EQ(curve.front().cloud_fraction, 0.0);
    ASSERT_EQ(curve.back().cloud_fraction, 1.0);
    for (size_t i = 1; i < curve.size(); ++i)
      ASSERT_GT(curve[i].cloud_fraction, curve[i - 1].cloud_fraction);
    double prev = 0;
    for (double x : {0.2, 0.5, 0.8, 1.0}) {
      double c = cost_to_reach(curve, x);
      if (std::isnan(c)) break;
      ASSERT_GE(c, prev - 1e-12);  // more of the gap never costs less
      ASSERT_LE(c, 1.0);
      prev = c;
    }
  }
}

TEST(Calibration, ExpectedCalibrationErrorByHand) {
  // ECE = sum over bins of |sum(correct) - sum(confidence)| / n, 10 equal-width bins.
  // {0.3 -> 1, 0.9 -> 0}: bins 3 and 9, |1 - 0.3|/2 + |0 - 0.9|/2 = 0.35 + 0.45 = 0.8.
  EXPECT_NEAR(expected_calibration_error(std::vector<double>{0.3, 0.9}, std::vector<double>{1, 0}),
              0.8, 1e-12);
  // Two in one bin partly cancel: {0.31 -> 1, 0.35 -> 0} share bin 3: |1 - 0.66|/3 = 0.34/3;
  // {0.9 -> 1}: |1 - 0.9|/3 = 0.1/3; total 0.44/3.
  EXPECT_NEAR(expected_calibration_error(std::vector<double>{0.31, 0.35, 0.9},
                                         std::vector<double>{1, 0, 1}),
              0.44 / 3, 1e-12);
  // The ends: 1.0 goes to the last bin, 0.0 to the first; perfectly calibrated = 0.
  EXPECT_NEAR(expected_calibration_error(std::vector<double>{1.0, 0.0}, std::vector<double>{1, 0}),
              0.0, 1e-12);
  // 5 bins: 0.3 and 0.39 share bin 1 ([0.2, 0.4)): |1 + 1 - 0.69|/2 = 0.655.
  EXPECT_NEAR(expected_calibration_error(std::vector<double>{0.3, 0.39}, std::vector<double>{1, 1}, 5),
              0.655, 1e-12);
}

TEST(Calibration, ThresholdForCloudRateIsTheQuantile) {
  std::vector<double> conf = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  // type-7: h = 9·0.3 = 2.7 → 0.3 + 0.7·0.1 = 0.37; cloud iff conf < 0.37 → 3 of 10.
  EXPECT_NEAR(threshold_for_cloud_rate(conf, 0.3), 0.37, 1e-12);
  EXPECT_DOUBLE_EQ(threshold_for_cloud_rate(conf, 0.0), 0.1);  // nobody below the minimum
  EXPECT_GT(threshold_for_cloud_rate(conf, 1.0), 1.0);         // everyone to the cloud
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> many(1000);
  for (double& c : many) c = u(rng);
  for (double r : {0.1, 0.3, 0.5, 0.7}) {
    double t = threshold_for_cloud_rate(many, r);
    double rate = std::count_if(many.begin(), many.end(), [&](double c) { return c < t; }) / 1000.0;
    EXPECT_NEAR(rate, r, 0.002) << r;
  }
  EXPECT_THROW(threshold_for_cloud_rate(conf, 1.5), edgecloud::config_error);
  EXPECT_THROW(threshold_for_cloud_rate(std::vector<double>{}, 0.5), edgecloud::config_error);
}

TEST(Calibration, ThresholdForQualityAndPerTask) {
  auto rs = five();
  auto q = threshold_for_quality(rs, 0.6);
  EXPECT_TRUE(q.reachable);
  EXPECT_DOUBLE_EQ(q.threshold, 0.3);
  EXPECT_NEAR(q.cloud_rate, 0.2, 1e-12);
  auto best = threshold_for_quality(rs, 0.95);
  EXPECT_FALSE(best.reachable);
  EXPECT_NEAR(best.quality, 0.8, 1e-12);
  EXPECT_NEAR(best.cloud_rate, 0.8, 1e-12);  // the cheapest point of highest quality

  std::vector<labeled_record> mixed = rs;
  for (auto r : rs) {
    r.task = task_type::safety;
    mixed.push_back(r);
  }
  labeled_record chat = rec(0.5, true, 1);
  chat.task = task_type::open_dialogue;
  mixed.push_back(chat);
  task_thresholds out;
  auto cal = calibrate_thresholds(mixed, {calibration_target::kind::quality, 0.6}, &out);
  ASSERT_EQ(cal.size(), 2u);  // the cloud task has no threshold
  EXPECT_DOUBLE_EQ(out.intent, 0.3);
  EXPECT_DOUBLE_EQ(out.safety, 0.3);
  EXPECT_DOUBLE_EQ(out.tool_choice, 0.85);  // untouched
  EXPECT_NEAR(cal[task_type::intent].quality, 0.6, 1e-12);
  auto by_rate = calibrate_thresholds(rs, {calibration_target::kind::cloud_rate, 0.5});
  EXPECT_NEAR(by_rate[task_type::intent].threshold, 0.3, 1e-12);  // h = 2 → 0.3
}

TEST(Calibration, TemperatureIsRecoveredFromDataDrawnAtAKnownTemperature) {
  // Scores s over 4 labels; labels drawn from softmax(s / 2). The NLL minimiser must be ≈ 2.
  std::mt19937 rng(11);
  std::normal_distribution<double> n(0, 3);
  std::vector<scored_example> ex;
  for (int i = 0; i < 20000; ++i) {
    scored_example e;
    e.label_scores = {n(rng), n(rng), n(rng), n(rng)};
    auto p = softmax_with_temperature(e.label_scores, 2.0);
    std::discrete_distribution<size_t> pick(p.begin(), p.end());
    e.gold = pick(rng);
    ex.push_back(e);
  }
  temperature_fit fit = fit_temperature(ex);
  EXPECT_NEAR(fit.temperature, 2.0, 0.08);
  EXPECT_LT(fit.nll_after, fit.nll_before);
  // It is the minimum: nudging T either way does not help.
  EXPECT_LE(fit.nll_after, negative_log_likelihood(ex, fit.temperature * 1.05));
  EXPECT_LE(fit.nll_after, negative_log_likelihood(ex, fit.temperature / 1.05));
}

TEST(Calibration, BinaryTemperatureByHandAndBadInput) {
  // One right answer at p = 0.5 and one wrong at p = 0.5: logit 0, any T gives NLL log 2.
  std::vector<double> conf = {0.5, 0.5}, ok = {1, 0};
  auto fit = fit_temperature_binary(conf, ok);
  EXPECT_NEAR(fit.nll_after, std::log(2.0), 1e-9);
  // Overconfident: p = 0.9 but right half the time → the fit softens (T > 1) to p ≈ 0.5.
  std::vector<double> c2(100, 0.9), k2(100, 0);
  for (int i = 0; i < 50; ++i) k2[i] = 1;
  EXPECT_GT(fit_temperature_binary(c2, k2).temperature, 10.0);
  std::vector<scored_example> bad = {{{0.1, 0.2}, 2}};
  EXPECT_THROW(fit_temperature(bad), edgecloud::config_error);
  EXPECT_THROW(fit_temperature(std::vector<scored_example>{}), edgecloud::config_error);
}

TEST(Calibration, LabeledRecordJsonLine) {
  auto j = nlohmann::json::parse(R"({"text": "明天天气", "task": "intent", "gold": "weather",
      "edge_prediction": "weather", "edge_confidence": 0.93, "cloud_correct": true,
      "edge_latency_ms": 41, "cloud_latency_ms": 900, "route": "edge"})");
  labeled_record r = j.get<labeled_record>();
  EXPECT_EQ(r.query, "明天天气");
  EXPECT_EQ(r.edge_score(), 1.0);
  EXPECT_EQ(r.cloud_quality, 1.0);
  EXPECT_EQ(*r.routed, route::edge);
  EXPECT_THROW(nlohmann::json::parse(R"({"confidance": 0.3})").get<labeled_record>(),
               edgecloud::config_error);
}

}  // namespace

namespace {
TEST(Calibration, FitTemperaturesPerTaskUsesLabelScoresWhenPresent) {
  std::vector<labeled_record> rs;
  std::vector<scored_example> ex;
  std::mt19937 rng(2);
  std::normal_distribution<double> n(0, 2);
  for (int i = 0; i < 200; ++i) {
    labeled_record r = rec(0.5, i % 3 != 0, 1);
    r.label_scores = {n(rng), n(rng), n(rng)};
    r.gold_index = static_cast<size_t>(i % 3);
    ex.push_back({r.label_scores, *r.gold_index});
    rs.push_back(r);
  }
  labeled_record binary = rec(0.9, true, 1);
  binary.task = task_type::safety;
  rs.push_back(binary);
  auto fits = fit_temperatures(rs);
  ASSERT_EQ(fits.size(), 2u);
  // The intent fit is the temperature minimising the mean NLL of softmax(scores / T) at the
  // gold label, found here by a plain scan of log T (not the library's golden-section search):
  // a fit over the wrong records (the safety one mixed in, the binary fallback used) moves it.
  const auto nll = [&](double t) {
    double sum = 0;
    for (const auto& e : ex) {
      double mx = -INFINITY, z = 0;
      for (double s : e.label_scores) mx = std::max(mx, s / t);
      for (double s : e.label_scores) z += std::exp(s / t - mx);
      sum += -(e.label_scores[e.gold] / t - mx - std::log(z));
    }
    return sum / static_cast<double>(ex.size());
  };
  double best_t = 1, best = INFINITY;
  for (double lt = std::log(0.01); lt <= std::log(100.0); lt += 5e-4)
    if (const double v = nll(std::exp(lt)); v < best) best = v, best_t = std::exp(lt);
  EXPECT_NEAR(fits[task_type::intent].temperature, best_t, 2e-3 * best_t);
  EXPECT_NEAR(fits[task_type::intent].nll_after, best, 1e-6);
  EXPECT_NEAR(fits[task_type::intent].nll_before, nll(1.0), 1e-9);
  // Safety: one record, confidence 0.9, correct. Its NLL, -log sigmoid(ln 9 / T), falls as T
  // falls, so the fit runs to the lower end of the search range, T = 0.01.
  EXPECT_NEAR(fits[task_type::safety].temperature, 0.01, 1e-6);
}
}  // namespace

namespace {

labeled_record scored(std::string gold, std::string predicted, double conf) {
  labeled_record r;
  r.task = task_type::intent;
  r.gold = std::move(gold);
  r.edge_prediction = std::move(predicted);
  r.edge_confidence = conf;
  r.cloud_quality = 1;
  return r;
}

// Out of scope: gold oos predicted oos (0.99), predicted a (0.95), predicted a (0.5); in scope:
// a→a 0.95, b→a 0.92, a→a 0.3. Threshold 0.9, cloud_labels {oos}:
//   edge: oos→a 0.95, a→a 0.95, b→a 0.92 (3 of 6); right among them: 1 → on-device accuracy 1/3
//   cloud: oos→oos (cloud label), oos→a 0.5, a→a 0.3 → oos to cloud 2/3
//   in-scope top-1: a, b→a, a → 2/3
TEST(Evaluation, OutOfScopeFiguresByHand) {
  const std::vector<labeled_record> rs = {
      scored("oos", "oos", 0.99), scored("oos", "a", 0.95), scored("oos", "a", 0.5),
      scored("a", "a", 0.95),     scored("b", "a", 0.92),   scored("a", "a", 0.3)};
  policy_config c;
  c.thresholds.intent = 0.9;
  c.cloud_labels = {"oos"};
  const evaluation_report r = evaluate(rs, c);
  EXPECT_EQ(r.out_of_scope, 3u);
  EXPECT_NEAR(r.on_device_rate, 0.5, 1e-12);
  EXPECT_NEAR(r.edge_accuracy_on_device, 1.0 / 3, 1e-12);
  EXPECT_NEAR(r.oos_to_cloud, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.in_scope_accuracy, 2.0 / 3, 1e-12);
  const nlohmann::json j = r;
  EXPECT_EQ(j["requests"], 6);
  EXPECT_NEAR(j["on_device_accuracy"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(j["oos_to_cloud"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_TRUE(j.contains("records") && j.contains("edge_accuracy_on_device"));  // kept

  // The policy's out-of-set rule: the a→a 0.95 record with 0.3 of its mass outside the labels
  // (limit 0.2) goes to the cloud: 2 of 6 stay, 0 of them right... b→a is wrong, oos→a wrong.
  {
    auto more = rs;
    more[3].out_of_set_mass = 0.3;
    const evaluation_report o = evaluate(more, c);
    EXPECT_NEAR(o.on_device_rate, 2.0 / 6, 1e-12);
    EXPECT_NEAR(o.edge_accuracy_on_device, 0.0, 1e-12);
    // and calibration leaves it out of the on-device candidates: .95 W (oos) .92 W .5 W (oos)
    // .3 R → prefix accuracies 0, 0, 0, 1/4: A = 0.25 keeps all four (threshold 0.3), A = 0.3
    // none.
    const auto q = threshold_for_edge_accuracy(more, 0.25, {"oos"}, 0.2);
    EXPECT_DOUBLE_EQ(q.threshold, 0.3);
    EXPECT_NEAR(q.cloud_rate, 1.0 - 4.0 / 6, 1e-12);
    EXPECT_FALSE(threshold_for_edge_accuracy(more, 0.3, {"oos"}, 0.2).reachable);
    EXPECT_DOUBLE_EQ(threshold_for_edge_accuracy(more, 0.3, {"oos"}, 1.0).threshold, 0.3);
  }

  // Without cloud labels "oos" is an ordinary label: the 0.99 one stays on the device and no
  // record is out of scope.
  c.cloud_labels.clear();
  const evaluation_report plain = evaluate(rs, c);
  EXPECT_NEAR(plain.on_device_rate, 4.0 / 6, 1e-12);
  EXPECT_TRUE(std::isnan(plain.oos_to_cloud));
  EXPECT_TRUE(nlohmann::json(plain)["oos_to_cloud"].is_null());
}

// Non-cloud predictions by confidence: .95 R, .9 R, .8 W, .7 R, .6 R, .5 W (+ one predicted oos
// at .99, always cloud). Accuracy of the first k: 1, 1, 2/3, 3/4, 4/5, 4/6.
//   A = 0.8  → k = 5, threshold 0.6, on the edge 5 of 7 → cloud rate 2/7
//   A = 0.9  → k = 2, threshold 0.9 (k = 4, 5 do not reach it)
//   A = 1.0  → k = 2 as well; nothing right → all cloud, unreachable
TEST(Calibration, ThresholdForEdgeAccuracyByHand) {
  std::vector<labeled_record> rs = {scored("a", "a", .95), scored("a", "a", .9),
                                    scored("a", "b", .8),  scored("a", "a", .7),
                                    scored("a", "a", .6),  scored("a", "b", .5),
                                    scored("oos", "oos", .99)};
  const std::vector<std::string> oos = {"oos"};
  auto q = threshold_for_edge_accuracy(rs, 0.8, oos);
  EXPECT_TRUE(q.reachable);
  EXPECT_DOUBLE_EQ(q.threshold, 0.6);
  EXPECT_NEAR(q.quality, 0.8, 1e-12);
  EXPECT_NEAR(q.cloud_rate, 2.0 / 7, 1e-12);
  EXPECT_DOUBLE_EQ(threshold_for_edge_accuracy(rs, 0.9, oos).threshold, 0.9);
  EXPECT_DOUBLE_EQ(threshold_for_edge_accuracy(rs, 1.0, oos).threshold, 0.9);
  // Without the cloud label the .99 oos→oos record counts as a right edge answer at the top.
  EXPECT_DOUBLE_EQ(threshold_for_edge_accuracy(rs, 0.8, {}).threshold, 0.6);  // 5/6 at k=6

  // A tie group is kept or dropped whole: .9 R and .9 W together give 1/2 at k = 2, then
  // .4 W gives 1/3.
  std::vector<labeled_record> tie = {scored("a", "a", .9), scored("a", "b", .9),
                                     scored("a", "b", .4)};
  EXPECT_FALSE(threshold_for_edge_accuracy(tie, 0.6).reachable);
  EXPECT_GT(threshold_for_edge_accuracy(tie, 0.6).threshold, 0.9);
  EXPECT_DOUBLE_EQ(threshold_for_edge_accuracy(tie, 0.5).threshold, 0.9);

  // Through calibrate_thresholds: the report counts the cloud label as cloud.
  task_thresholds out;
  auto cal = calibrate_thresholds(rs, {calibration_target::kind::edge_accuracy, 0.8}, &out, oos);
  EXPECT_DOUBLE_EQ(out.intent, 0.6);
  EXPECT_NEAR(cal[task_type::intent].cloud_rate, 2.0 / 7, 1e-12);
  EXPECT_NEAR(cal[task_type::intent].on_device_accuracy, 0.8, 1e-12);
}

// The expected traffic mix: in scope .95 R, .9 R, .8 W, .7 R; out of scope (gold oos) one
// predicted "a" at .85 (an on-device error when kept) and one predicted oos (always cloud).
// As the data has them the candidates read 1, 1, 2/3, 2/4, 3/5: A = 0.6 keeps five (threshold
// .7). With an expected share of 1/2 out of scope each oos record weighs (1/1)·(4/2) = 2:
// 1, 1, 2/4, 2/5, 3/6, so A = 0.6 keeps only the first two (threshold .9), and the weighted
// cloud rate is 1 − 2/8.
TEST(Calibration, EdgeAccuracyOnTheExpectedOutOfScopeShare) {
  const std::vector<labeled_record> rs = {scored("a", "a", .95), scored("a", "a", .9),
                                          scored("a", "b", .8),  scored("a", "a", .7),
                                          scored("oos", "a", .85), scored("oos", "oos", .99)};
  const std::vector<std::string> oos = {"oos"};
  EXPECT_DOUBLE_EQ(threshold_for_edge_accuracy(rs, 0.6, oos).threshold, 0.7);
  EXPECT_DOUBLE_EQ(cloud_gold_weight(rs, oos, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(cloud_gold_weight(rs, oos, std::nan("")), 1.0);
  const auto q = threshold_for_edge_accuracy(rs, 0.6, oos, 1.0, 2.0);
  EXPECT_DOUBLE_EQ(q.threshold, 0.9);
  EXPECT_NEAR(q.cloud_rate, 1.0 - 2.0 / 8, 1e-12);

  calibration_target t{calibration_target::kind::edge_accuracy, 0.6};
  t.cloud_gold_share = 0.5;
  task_thresholds out;
  auto cal = calibrate_thresholds(rs, t, &out, oos);
  EXPECT_DOUBLE_EQ(out.intent, 0.9);
  EXPECT_DOUBLE_EQ(cal[task_type::intent].cloud_gold_weight, 2.0);
  EXPECT_NEAR(cal[task_type::intent].cloud_rate, 0.75, 1e-12);
  EXPECT_NEAR(cal[task_type::intent].on_device_accuracy, 1.0, 1e-12);
  EXPECT_EQ(nlohmann::json(cal[task_type::intent])["oos_weight"], 2.0);

  // A share out of (0, 1), or data without records of both kinds, is a clear error.
  EXPECT_THROW(cloud_gold_weight(rs, oos, 0.0), edgecloud::config_error);
  EXPECT_THROW(cloud_gold_weight(rs, oos, 1.0), edgecloud::config_error);
  const std::vector<labeled_record> in_only(rs.begin(), rs.begin() + 4);
  EXPECT_THROW(cloud_gold_weight(in_only, oos, 0.2), edgecloud::config_error);
  EXPECT_THROW(threshold_for_edge_accuracy(rs, 0.6, oos, 1.0, 0.0), edgecloud::config_error);
}

TEST(Calibration, EvalRecordLinesReadBack) {
  auto r = nlohmann::json::parse(R"({"text": "hi", "label": "greeting", "predicted": "oos",
      "confidence": 0.7, "latency_ms": 12.5, "out_of_set": 0.25, "route": "cloud"})")
               .get<labeled_record>();
  EXPECT_EQ(r.query, "hi");
  EXPECT_EQ(r.gold, "greeting");
  EXPECT_EQ(r.edge_prediction, "oos");
  EXPECT_DOUBLE_EQ(r.edge_confidence, 0.7);
  EXPECT_DOUBLE_EQ(r.edge_latency_ms, 12.5);
  EXPECT_DOUBLE_EQ(r.out_of_set_mass, 0.25);
  EXPECT_EQ(*r.routed, route::cloud);
}

}  // namespace
