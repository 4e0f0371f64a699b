// SPDX-License-Identifier: Apache-2.0
// The default routing policy: every rule, its precedence, the decision record, the budget with
// a hand-stepped clock, thread safety of reservations, and the JSON mapping of the config.
#include <gtest/gtest.h>

#include <atomic>
#include <edgecloud/routing.hpp>
#include <thread>

using namespace edgecloud::routing;
using edgecloud::tasks::pii_kind;
using edgecloud::tasks::pii_span;

namespace {

request_features intent(double confidence) {
  request_features f;
  f.task = task_type::intent;
  f.intent_label = "weather";
  f.confidence = confidence;
  f.expected_output_tokens = 8;
  return f;
}

TEST(ConfidencePolicy, DefaultThresholdsAreTheDesignsAndApplyPerTask) {
  confidence_policy p;
  EXPECT_EQ(p.decide(intent(0.90)).target, route::edge);  // ≥ 0.9 stays local
  auto low = p.decide(intent(0.8999));
  EXPECT_EQ(low.target, route::cloud);
  EXPECT_EQ(low.rule, "task.low_confidence");
  EXPECT_DOUBLE_EQ(low.threshold, 0.9);

  request_features tool = intent(0.86);
  tool.task = task_type::tool_choice;
  EXPECT_EQ(p.decide(tool).target, route::edge);  // ≥ 0.85
  tool.confidence = 0.84;
  EXPECT_EQ(p.decide(tool).target, route::cloud);

  request_features safety = intent(0.94);
  safety.task = task_type::safety;
  EXPECT_EQ(p.decide(safety).target, route::cloud);  // < 0.95
  safety.confidence = 0.95;
  EXPECT_EQ(p.decide(safety).target, route::edge);
}

TEST(ConfidencePolicy, CloudTasksLongOutputMultiTurnAndOutOfSet) {
  confidence_policy p;
  for (task_type t : {task_type::open_dialogue, task_type::knowledge, task_type::reasoning}) {
    request_features f = intent(0.99);
    f.task = t;
    auto d = p.decide(f);
    EXPECT_EQ(d.target, route::cloud) << to_string(t);
    EXPECT_EQ(d.rule, "task.cloud_task");
  }
  request_features longer = intent(0.99);
  longer.expected_output_tokens = 257;
  EXPECT_EQ(p.decide(longer).rule, "length.long_output");
  longer.expected_output_tokens = 256;
  EXPECT_EQ(p.decide(longer).target, route::edge);

  request_features summary = intent(0.99);
  summary.task = task_type::summary;
  summary.turn_count = 7;
  EXPECT_EQ(p.decide(summary).rule, "dialogue.multi_turn");
  summary.turn_count = 6;
  EXPECT_EQ(p.decide(summary).target, route::edge);
  request_features deep_intent = intent(0.99);
  deep_intent.turn_count = 40;  // classification does not get harder with history
  EXPECT_EQ(p.decide(deep_intent).target, route::edge);

  request_features oos = intent(0.99);
  oos.out_of_set_mass = 0.25;
  auto d = p.decide(oos);
  EXPECT_EQ(d.rule, "task.out_of_set");
  EXPECT_DOUBLE_EQ(d.out_of_set_mass, 0.25);
  EXPECT_DOUBLE_EQ(d.max_out_of_set_mass, 0.2);
}

TEST(ConfidencePolicy, NanConfidenceNeverStaysLocal) {
  confidence_policy p;
  EXPECT_EQ(p.decide(intent(std::nan(""))).target, route::cloud);
}

TEST(ConfidencePolicy, PrivacyRedactsOrKeepsLocalAndNeverSendWins) {
  request_features f = intent(0.1);
  f.pii = {{0, 11, pii_kind::phone, 0.95},
           {20, 30, pii_kind::email, 0.98},
           {40, 44, pii_kind::phone, 0.3}};
  confidence_policy redacting;
  auto d = redacting.decide(f);
  EXPECT_EQ(d.target, route::cloud);
  EXPECT_TRUE(d.redact);
  EXPECT_EQ(d.pii_found, 2u);  // the 0.3 finding is below min_pii_confidence
  EXPECT_EQ(d.pii_kinds, (std::vector<std::string>{"phone", "email"}));

  policy_config keep;
  keep.privacy.on_pii = pii_action::keep_local;
  confidence_policy keeping(keep);
  d = keeping.decide(f);
  EXPECT_EQ(d.target, route::edge);
  EXPECT_EQ(d.rule, "privacy.keep_local");
  EXPECT_FALSE(d.degraded);
  f.override_route = route_override::force_cloud;  // privacy outranks a forced cloud
  EXPECT_EQ(keeping.decide(f).rule, "privacy.keep_local");

  request_features clean = intent(0.1);
  clean.user_never_send = true;
  clean.override_route = route_override::force_cloud;
  EXPECT_EQ(redacting.decide(clean).rule, "privacy.never_send");

  policy_config listed;
  listed.privacy.never_send_users = {"alice"};
  confidence_policy by_user(listed);
  clean.user_never_send = false;
  clean.user_id = "alice";
  EXPECT_EQ(by_user.decide(clean).rule, "privacy.never_send");
  clean.user_id = "bob";
  EXPECT_EQ(by_user.decide(clean).target, route::cloud);
}

TEST(ConfidencePolicy, OverridesForceEitherWay) {
  confidence_policy p;
  request_features f = intent(0.99);
  f.override_route = route_override::force_cloud;
  auto d = p.decide(f);
  EXPECT_EQ(d.target, route::cloud);
  EXPECT_EQ(d.rule, "override.force_cloud");
  f = intent(0.01);
  f.task = task_type::reasoning;
  f.override_route = route_override::force_edge;
  d = p.decide(f);
  EXPECT_EQ(d.target, route::edge);
  EXPECT_EQ(d.rule, "override.force_edge");
  EXPECT_FALSE(d.degraded);
}

TEST(ConfidencePolicy, OfflineOrCircuitOpenDegradesToEdgeAndKeepsWhy) {
  confidence_policy p;
  request_features f = intent(0.2);
  f.network.online = false;
  auto d = p.decide(f);
  EXPECT_EQ(d.target, route::edge);
  EXPECT_EQ(d.preferred, route::cloud);
  EXPECT_TRUE(d.degraded);
  EXPECT_EQ(d.rule, "network.offline");
  EXPECT_NE(d.reason.find("below the threshold"), std::string::npos) << d.reason;
  EXPECT_FALSE(d.budget.reserved);

  f.network.online = true;
  f.network.circuit_open = true;
  f.override_route = route_override::force_cloud;
  d = p.decide(f);
  EXPECT_EQ(d.rule, "network.circuit_open");
  EXPECT_TRUE(d.degraded);
  // An edge decision is never degraded by the network.
  request_features confident = intent(0.99);
  confident.network.online = false;
  EXPECT_FALSE(p.decide(confident).degraded);
}

TEST(ConfidencePolicy, CallsPerMinuteCapSlidesWithTheClock) {
  auto t0 = cloud_budget::clock::time_point{} + std::chrono::hours(1);
  auto now = t0;
  policy_config c;
  c.budget.max_cloud_calls_per_minute = 3;
  confidence_policy p(c, [&] { return now; });
  for (int i = 0; i < 3; ++i) {
    auto d = p.decide(intent(0.1));
    EXPECT_EQ(d.target, route::cloud);
    EXPECT_EQ(d.budget.calls_last_minute, i + 1);
    now += std::chrono::seconds(10);
  }
  auto refused = p.decide(intent(0.1));  // at t0+30s: 3 calls in the window
  EXPECT_EQ(refused.target, route::edge);
  EXPECT_TRUE(refused.degraded);
  EXPECT_EQ(refused.rule, "budget.calls_per_minute");
  EXPECT_EQ(refused.budget.calls_last_minute, 3);
  EXPECT_EQ(refused.budget.max_calls_per_minute, 3);
  now = t0 + std::chrono::seconds(60);  // the first call leaves the window
  EXPECT_EQ(p.decide(intent(0.1)).target, route::cloud);
  EXPECT_EQ(p.decide(intent(0.1)).target, route::edge);
}

TEST(ConfidencePolicy, CostCapUsesEstimateThenActualAndResetsPerWindow) {
  auto now = cloud_budget::clock::time_point{} + std::chrono::hours(1);
  policy_config c;
  c.budget.max_cloud_calls_per_minute = 0;  // unlimited
  c.budget.max_cost = 1.0;
  c.budget.cost_window_seconds = 3600;
  c.budget.usd_per_1k_input_tokens = 1.0;
  c.budget.usd_per_1k_output_tokens = 2.0;
  confidence_policy p(c, [&] { return now; });
  request_features f = intent(0.1);
  f.estimated_input_tokens = 200;  // 0.2 USD
  f.expected_output_tokens = 150;  // 0.3 USD
  auto a = p.decide(f);
  EXPECT_EQ(a.target, route::cloud);
  EXPECT_NEAR(a.budget.estimated_cost, 0.5, 1e-12);
  auto b = p.decide(f);
  EXPECT_EQ(b.target, route::cloud);
  EXPECT_NEAR(b.budget.cost_in_window, 1.0, 1e-12);
  auto refused = p.decide(f);
  EXPECT_EQ(refused.rule, "budget.cost");
  p.settle(a, 0.1);  // it really cost 0.1: 0.4 is free again, not enough for another 0.5
  EXPECT_NEAR(p.budget().cost_in_window, 0.6, 1e-12);
  EXPECT_EQ(p.decide(f).rule, "budget.cost");
  p.settle(b, 0.0);  // b never happened: 0.4 + 0.5 free
  EXPECT_NEAR(p.budget().cost_in_window, 0.1, 1e-12);
  EXPECT_EQ(p.decide(f).target, route::cloud);
  EXPECT_EQ(p.decide(f).target, route::edge);
  now += std::chrono::seconds(3600);
  EXPECT_NEAR(p.budget().cost_in_window, 0.0, 1e-12);
  EXPECT_EQ(p.decide(f).target, route::cloud);
  // Settling a decision that holds no reservation changes nothing.
  double before = p.budget().cost_in_window;
  p.settle(refused, 5.0);
  EXPECT_DOUBLE_EQ(p.budget().cost_in_window, before);
}

TEST(ConfidencePolicy, ConcurrentDecisionsNeverExceedTheCallCap) {
  policy_config c;
  c.budget.max_cloud_calls_per_minute = 500;
  confidence_policy p(c);
  std::atomic<int> cloud{0}, degraded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto d = p.decide(intent(0.1));
        if (d.target == route::cloud)
          ++cloud;
        else if (d.degraded)
          ++degraded;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cloud.load(), 500);
  EXPECT_EQ(degraded.load(), 1600 - 500);
}

TEST(RoutingJson, DecisionSerialisesEveryFigure) {
  confidence_policy p;
  request_features f = intent(0.5);
  f.pii = {{0, 3, pii_kind::email, 0.98}};
  nlohmann::json j = p.decide(f);
  EXPECT_EQ(j["route"], "cloud");
  EXPECT_EQ(j["preferred"], "cloud");
  EXPECT_EQ(j["rule"], "task.low_confidence");
  EXPECT_EQ(j["task"], "intent");
  EXPECT_EQ(j["intent"], "weather");
  EXPECT_DOUBLE_EQ(j["confidence"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.9);
  EXPECT_EQ(j["redact"], true);
  EXPECT_EQ(j["pii_kinds"], nlohmann::json::array({"email"}));
  EXPECT_EQ(j["budget"]["calls_last_minute"], 1);
  EXPECT_EQ(j["budget"]["reserved"], true);
  EXPECT_EQ(j["network"]["online"], true);
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
}

TEST(RoutingJson, ConfigRoundTripsAndRejectsTyposAndBadValues) {
  policy_config c;
  c.thresholds.intent = 0.7;
  c.privacy.on_pii = pii_action::keep_local;
  c.privacy.never_send_users = {"u1"};
  c.cloud_tasks = {task_type::reasoning};
  c.budget.max_cost = 3.5;
  nlohmann::json j = c;
  policy_config back = j.get<policy_config>();
  EXPECT_EQ(nlohmann::json(back), j);

  auto partial = nlohmann::json::parse(R"({"thresholds": {"safety": 0.99}})").get<policy_config>();
  EXPECT_DOUBLE_EQ(partial.thresholds.safety, 0.99);
  EXPECT_DOUBLE_EQ(partial.thresholds.intent, 0.9);  // default kept

  EXPECT_THROW(nlohmann::json::parse(R"({"threshold": {}})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(nlohmann::json::parse(R"({"thresholds": {"intnet": 0.5}})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(nlohmann::json::parse(R"({"thresholds": {"intent": "high"}})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(nlohmann::json::parse(R"({"thresholds": {"intent": -0.1}})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(nlohmann::json::parse(R"({"privacy": {"on_pii": "shred"}})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(nlohmann::json::parse(R"({"cloud_tasks": ["chitchat"]})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(
      nlohmann::json::parse(R"({"budget": {"cost_window_seconds": 0}})").get<policy_config>(),
      edgecloud::config_error);
  policy_config bad;
  bad.max_out_of_set_mass = 1.5;
  EXPECT_THROW(confidence_policy{bad}, edgecloud::config_error);
}

}  // namespace

namespace {
TEST(ConfidencePolicy, CloudLabelSendsTheIntentToTheCloudWhateverTheConfidence) {
  policy_config c;
  c.cloud_labels = {"oos"};
  confidence_policy p(c);
  request_features f = intent(0.999);
  f.intent_label = "oos";
  auto d = p.decide(f);
  EXPECT_EQ(d.target, route::cloud);
  EXPECT_EQ(d.rule, "task.cloud_label");
  f.intent_label = "weather";
  EXPECT_EQ(p.decide(f).rule, "task.confident");
  // Only the intent task's label counts; the user's never-send still wins.
  request_features tool = intent(0.999);
  tool.task = task_type::tool_choice;
  tool.intent_label = "oos";
  EXPECT_EQ(p.decide(tool).target, route::edge);
  f.intent_label = "oos";
  f.user_never_send = true;
  EXPECT_EQ(p.decide(f).rule, "privacy.never_send");

  auto read = nlohmann::json::parse(R"({"cloud_labels": ["oos", "chitchat"]})").get<policy_config>();
  EXPECT_EQ(read.cloud_labels, (std::vector<std::string>{"oos", "chitchat"}));
  EXPECT_EQ(nlohmann::json(read)["cloud_labels"], nlohmann::json::array({"oos", "chitchat"}));
  EXPECT_THROW(nlohmann::json::parse(R"({"cloud_labels": "oos"})").get<policy_config>(),
               edgecloud::config_error);
  EXPECT_THROW(nlohmann::json::parse(R"({"cloud_labels": [""]})").get<policy_config>(),
               edgecloud::config_error);
}
}  // namespace
