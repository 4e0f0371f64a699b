// SPDX-License-Identifier: Apache-2.0
// Telemetry of the assistant: requests by route and task, fallbacks and degraded answers by
// reason, errors by path, latency histograms per path (edge, cloud, fallback) with P50/P95/P99,
// cloud tokens and cost. Export as JSON or as Prometheus text exposition format 0.0.4.
//
// Thread-safe and lock-cheap: counters and histogram buckets are relaxed atomics; only the
// reason-keyed counters (a handful of short strings) take a mutex. Percentiles are exact while
// a path has seen at most `latency_histogram::exact_capacity` samples (each kept in an atomic
// slot) and are interpolated inside fixed log-spaced buckets after that:
// within bucket (lo, hi] holding the target rank, value = lo · (hi/lo)^fraction (geometric,
// since the buckets are log-spaced; linear in the first bucket, whose lower bound is 0).
// Ownership: owns all its counters; no references out.
#pragma once

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <edgecloud/routing/stats.hpp>
#include <edgecloud/routing/types.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace edgecloud::routing {

// Which way a request was answered, for latency: on the edge, by the cloud, or on the edge after
// the cloud failed (a fallback, which pays for the failed attempt too).
enum class latency_path : uint8_t { edge, cloud, fallback };
inline constexpr std::array<latency_path, 3> all_latency_paths = {
    latency_path::edge, latency_path::cloud, latency_path::fallback};
inline constexpr std::string_view to_string(latency_path p) {
  return p == latency_path::edge ? "edge" : p == latency_path::cloud ? "cloud" : "fallback";
}

class latency_histogram {
 public:
  // Upper bounds in milliseconds (1-2-5 series, 0.1 ms .. 60 s), then +Inf.
  static constexpr std::array<double, 18> bounds_ms = {
      0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000};
  static constexpr size_t exact_capacity = 4096;

  latency_histogram() : exact_(new std::atomic<double>[exact_capacity]) {
    for (size_t i = 0; i < exact_capacity; ++i)
      exact_[i].store(std::nan(""), std::memory_order_relaxed);
  }

  void record(double ms) {
    if (!(ms >= 0)) ms = 0;  // NaN or negative (clock trouble): count it as instant
    size_t b = 0;
    while (b < bounds_ms.size() && ms > bounds_ms[b]) ++b;
    buckets_[b].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(std::llround(std::min(ms, 1e12) * 1e6)),
                      std::memory_order_relaxed);
    double seen = max_ms_.load(std::memory_order_relaxed);
    while (ms > seen && !max_ms_.compare_exchange_weak(seen, ms, std::memory_order_relaxed)) {
    }
    uint64_t index = count_.fetch_add(1, std::memory_order_relaxed);
    if (index < exact_capacity) exact_[index].store(ms, std::memory_order_relaxed);
  }

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_ms() const {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e6;
  }
  double max_ms() const { return count() ? max_ms_.load(std::memory_order_relaxed) : std::nan(""); }
  uint64_t bucket(size_t i) const {
    return buckets_[i].load(std::memory_order_relaxed);
  }  // i ≤ 18 (+Inf)

  // p in [0, 100]; NaN when empty.
  double percentile(double p) const {
    uint64_t n = count();
    if (n == 0) return std::nan("");
    if (n <= exact_capacity) {
      std::vector<double> xs;
      xs.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        double v = exact_[i].load(std::memory_order_relaxed);
        if (!std::isnan(v)) xs.push_back(v);  // a slot being written right now is skipped
      }
      if (!xs.empty()) return routing::percentile(std::move(xs), p);
    }
    std::array<uint64_t, bounds_ms.size() + 1> counts;
    uint64_t total = 0;
    for (size_t i = 0; i < counts.size(); ++i) total += counts[i] = bucket(i);
    if (total == 0) return std::nan("");
    double rank = p / 100.0 * static_cast<double>(total);
    uint64_t below = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      if (counts[i] == 0 || static_cast<double>(below + counts[i]) < rank) {
        below += counts[i];
        continue;
      }
      if (i == bounds_ms.size()) return max_ms();  // +Inf bucket: the largest value seen
      double hi = bounds_ms[i], lo = i == 0 ? 0.0 : bounds_ms[i - 1];
      double fraction = std::clamp(
          (rank - static_cast<double>(below)) / static_cast<double>(counts[i]), 0.0, 1.0);
      double v = lo == 0.0 ? hi * fraction : lo * std::pow(hi / lo, fraction);
      return std::min(v, max_ms());
    }
    return max_ms();
  }

 private:
  std::array<std::atomic<uint64_t>, bounds_ms.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<double> max_ms_{0.0};
  std::unique_ptr<std::atomic<double>[]> exact_;
};

// One answered request, as the assistant reports it.
struct request_outcome {
  route served = route::edge;  // who produced the answer
  task_type task = task_type::open_dialogue;
  bool fallback = false;        // the cloud was chosen, failed, and the edge answered
  std::string fallback_reason;  // short category, e.g. "timeout", "http_503", "connection"
  bool degraded = false;        // the policy kept it on the edge because the cloud was unavailable
  std::string degraded_rule;    // the decision's rule, e.g. "network.offline"
  double latency_ms = 0.0;
};

class telemetry {
 public:
  static constexpr size_t max_reasons =
      32;  // distinct reason labels kept; the rest count as "other"

  void record(const request_outcome& o) {
    requests_[index(o.served)][index(o.task)].fetch_add(1, std::memory_order_relaxed);
    latency_path path = o.fallback                 ? latency_path::fallback
                        : o.served == route::cloud ? latency_path::cloud
                                                   : latency_path::edge;
    latency_[static_cast<size_t>(path)].record(o.latency_ms);
    if (o.fallback) {
      fallbacks_[index(o.task)].fetch_add(1, std::memory_order_relaxed);
      bump(fallback_reasons_, o.fallback_reason.empty() ? "unknown" : o.fallback_reason);
    }
    if (o.degraded) bump(degraded_rules_, o.degraded_rule.empty() ? "unknown" : o.degraded_rule);
  }
  // A request that produced no answer at all (the edge itself failed).
  void record_error(route where) { errors_[index(where)].fetch_add(1, std::memory_order_relaxed); }
  // A cloud call that failed (each is followed by a fallback or an error).
  void record_cloud_failure() {
    errors_[index(route::cloud)].fetch_add(1, std::memory_order_relaxed);
  }
  void record_cloud_usage(uint64_t prompt_tokens, uint64_t completion_tokens, double cost_usd) {
    prompt_tokens_.fetch_add(prompt_tokens, std::memory_order_relaxed);
    completion_tokens_.fetch_add(completion_tokens, std::memory_order_relaxed);
    cost_nano_usd_.fetch_add(static_cast<uint64_t>(std::llround(std::max(cost_usd, 0.0) * 1e9)),
                             std::memory_order_relaxed);
  }

  uint64_t requests(route r, task_type t) const {
    return requests_[index(r)][index(t)].load(std::memory_order_relaxed);
  }
  uint64_t requests(route r) const {
    uint64_t n = 0;
    for (task_type t : all_tasks) n += requests(r, t);
    return n;
  }
  uint64_t requests_total() const { return requests(route::edge) + requests(route::cloud); }
  uint64_t fallbacks(task_type t) const {
    return fallbacks_[index(t)].load(std::memory_order_relaxed);
  }
  uint64_t fallbacks_total() const {
    uint64_t n = 0;
    for (task_type t : all_tasks) n += fallbacks(t);
    return n;
  }
  uint64_t errors(route r) const { return errors_[index(r)].load(std::memory_order_relaxed); }
  uint64_t cloud_prompt_tokens() const { return prompt_tokens_.load(std::memory_order_relaxed); }
  uint64_t cloud_completion_tokens() const {
    return completion_tokens_.load(std::memory_order_relaxed);
  }
  double cloud_cost_usd() const {
    return static_cast<double>(cost_nano_usd_.load(std::memory_order_relaxed)) / 1e9;
  }
  const latency_histogram& latency(latency_path p) const {
    return latency_[static_cast<size_t>(p)];
  }
  std::map<std::string, uint64_t> fallback_reasons() const {
    std::lock_guard lock(mutex_);
    return fallback_reasons_;
  }
  std::map<std::string, uint64_t> degraded_rules() const {
    std::lock_guard lock(mutex_);
    return degraded_rules_;
  }

  nlohmann::json to_json() const {
    nlohmann::json j;
    for (route r : {route::edge, route::cloud}) {
      nlohmann::json by_task = nlohmann::json::object();
      for (task_type t : all_tasks)
        if (uint64_t n = requests(r, t)) by_task[std::string(to_string(t))] = n;
      j["requests"][std::string(to_string(r))] = by_task;
    }
    uint64_t total = requests_total();
    j["requests_total"] = total;
    j["on_device_rate"] =
        total ? static_cast<double>(requests(route::edge)) / static_cast<double>(total) : 0.0;
    j["fallbacks_total"] = fallbacks_total();
    j["fallback_reasons"] = fallback_reasons();
    j["degraded"] = degraded_rules();
    j["errors"] = {{"edge", errors(route::edge)}, {"cloud", errors(route::cloud)}};
    for (latency_path p : all_latency_paths) {
      const latency_histogram& h = latency(p);
      nlohmann::json l = {{"count", h.count()}};
      if (h.count()) {
        l["p50"] = h.percentile(50);
        l["p95"] = h.percentile(95);
        l["p99"] = h.percentile(99);
        l["mean"] = h.sum_ms() / static_cast<double>(h.count());
        l["max"] = h.max_ms();
      }
      j["latency_ms"][std::string(to_string(p))] = l;
    }
    j["cloud"] = {{"prompt_tokens", cloud_prompt_tokens()},
                  {"completion_tokens", cloud_completion_tokens()},
                  {"cost_usd", cloud_cost_usd()}};
    return j;
  }

  // Prometheus text exposition format (version 0.0.4): # HELP and # TYPE before each family,
  // label values escaped, histogram buckets cumulative with le="+Inf" equal to _count.
  std::string to_prometheus() const {
    std::string out;
    auto family = [&](const char* name, const char* type, const char* help) {
      out += "# HELP ";
      out += name;
      out += ' ';
      out += help;
      out += '\n';
      out += "# TYPE ";
      out += name;
      out += ' ';
      out += type;
      out += '\n';
    };
    auto sample = [&](const std::string& name, const std::string& labels,
                      const std::string& value) {
      out += name;
      if (!labels.empty()) out += "{" + labels + "}";
      out += ' ';
      out += value;
      out += '\n';
    };
    family("edgecloud_requests_total", "counter",
           "Requests answered, by the route that answered and the task.");
    for (route r : {route::edge, route::cloud})
      for (task_type t : all_tasks)
        sample("edgecloud_requests_total",
               label("route", to_string(r)) + "," + label("task", to_string(t)),
               std::to_string(requests(r, t)));
    family(
        "edgecloud_fallbacks_total", "counter",
        "Requests the cloud should have answered but the edge did after a cloud failure, by task.");
    for (task_type t : all_tasks)
      sample("edgecloud_fallbacks_total", label("task", to_string(t)),
             std::to_string(fallbacks(t)));
    family("edgecloud_fallback_reasons_total", "counter",
           "Fallbacks by reason of the cloud failure.");
    for (const auto& [reason, n] : fallback_reasons())
      sample("edgecloud_fallback_reasons_total", label("reason", reason), std::to_string(n));
    family("edgecloud_degraded_total", "counter",
           "Requests kept on the edge because the cloud was unavailable or over budget, by rule.");
    for (const auto& [rule, n] : degraded_rules())
      sample("edgecloud_degraded_total", label("rule", rule), std::to_string(n));
    family(
        "edgecloud_errors_total", "counter",
        "Failures by path: cloud calls that failed, edge failures that left a request unanswered.");
    for (route r : {route::edge, route::cloud})
      sample("edgecloud_errors_total", label("path", to_string(r)), std::to_string(errors(r)));
    family("edgecloud_cloud_tokens_total", "counter", "Tokens billed by the cloud, by kind.");
    sample("edgecloud_cloud_tokens_total", label("kind", "prompt"),
           std::to_string(cloud_prompt_tokens()));
    sample("edgecloud_cloud_tokens_total", label("kind", "completion"),
           std::to_string(cloud_completion_tokens()));
    family("edgecloud_cloud_cost_usd_total", "counter", "Estimated cloud cost in US dollars.");
    sample("edgecloud_cloud_cost_usd_total", "", number(cloud_cost_usd()));
    family("edgecloud_request_latency_seconds", "histogram",
           "End-to-end request latency by path (edge, cloud, fallback).");
    for (latency_path p : all_latency_paths) {
      const latency_histogram& h = latency(p);
      std::string path = label("path", to_string(p));
      uint64_t cumulative = 0;
      for (size_t i = 0; i < latency_histogram::bounds_ms.size(); ++i) {
        cumulative += h.bucket(i);
        sample("edgecloud_request_latency_seconds_bucket",
               path + ",le=\"" + number(latency_histogram::bounds_ms[i] / 1000.0) + "\"",
               std::to_string(cumulative));
      }
      cumulative += h.bucket(latency_histogram::bounds_ms.size());
      sample("edgecloud_request_latency_seconds_bucket", path + ",le=\"+Inf\"",
             std::to_string(cumulative));
      sample("edgecloud_request_latency_seconds_sum", path, number(h.sum_ms() / 1000.0));
      sample("edgecloud_request_latency_seconds_count", path, std::to_string(cumulative));
    }
    return out;
  }

 private:
  static size_t index(route r) { return static_cast<size_t>(r); }
  static size_t index(task_type t) { return static_cast<size_t>(t); }
  static std::string number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
  }
  // name="value" with the exposition format's escapes (\\, \", \n).
  static std::string label(std::string_view name, std::string_view value) {
    std::string out(name);
    out += "=\"";
    for (char c : value) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
    return out;
  }
  void bump(std::map<std::string, uint64_t>& counters, const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = counters.find(key);
    if (it != counters.end())
      ++it->second;
    else if (counters.size() < max_reasons)
      counters.emplace(key, 1);
    else
      ++counters["other"];
  }

  std::array<std::array<std::atomic<uint64_t>, task_count>, 2> requests_{};
  std::array<std::atomic<uint64_t>, task_count> fallbacks_{};
  std::array<std::atomic<uint64_t>, 2> errors_{};
  std::atomic<uint64_t> prompt_tokens_{0}, completion_tokens_{0}, cost_nano_usd_{0};
  std::array<latency_histogram, 3> latency_;
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> fallback_reasons_, degraded_rules_;
};

}  // namespace edgecloud::routing
