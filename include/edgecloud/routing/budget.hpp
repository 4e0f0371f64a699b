// SPDX-License-Identifier: Apache-2.0
// Cloud budget: a cap on cloud calls in any sliding 60-second window and a cap on (estimated,
// then actual) cost per fixed window. Thread-safe: many request threads reserve concurrently;
// one mutex guards a deque of call times and two numbers, held for a few hundred nanoseconds.
//
// Protocol: `try_reserve(estimate)` before a cloud call (counts the call, adds the estimate);
// `settle(estimate, actual)` afterwards replaces the estimate with what the call really cost
// (0 if it never happened). The clock is injectable so tests step time by hand.
// Ownership: owns its state; holds no reference to anything else.
#pragma once

#include <chrono>
#include <deque>
#include <edgecloud/routing/types.hpp>
#include <functional>
#include <mutex>

namespace edgecloud::routing {

class cloud_budget {
 public:
  using clock = std::chrono::steady_clock;
  using clock_function = std::function<clock::time_point()>;

  enum class verdict { ok, calls_per_minute, cost };

  explicit cloud_budget(
      budget_config config = {}, clock_function now = [] { return clock::now(); })
      : config_(config), now_(std::move(now)), window_start_(now_()) {}

  // Reserves one call costing `estimated_cost`, or refuses without changing anything.
  // `state` receives the figures seen (after the reservation when it succeeds).
  verdict try_reserve(double estimated_cost, budget_state& state) {
    std::lock_guard lock(mutex_);
    auto now = now_();
    expire(now);
    state.max_calls_per_minute = config_.max_cloud_calls_per_minute;
    state.max_cost = config_.max_cost;
    state.estimated_cost = estimated_cost;
    state.calls_last_minute = static_cast<int>(calls_.size());
    state.cost_in_window = cost_in_window_;
    state.reserved = false;
    if (config_.max_cloud_calls_per_minute > 0 &&
        static_cast<int>(calls_.size()) >= config_.max_cloud_calls_per_minute)
      return verdict::calls_per_minute;
    if (config_.max_cost > 0 && cost_in_window_ + estimated_cost > config_.max_cost)
      return verdict::cost;
    calls_.push_back(now);
    cost_in_window_ += estimated_cost;
    state.calls_last_minute = static_cast<int>(calls_.size());
    state.cost_in_window = cost_in_window_;
    state.reserved = true;
    return verdict::ok;
  }

  // Replaces a reservation's estimate with the actual cost. A settle arriving after the cost
  // window rolled over is charged to the new window (it was spent now).
  void settle(double estimated_cost, double actual_cost) {
    std::lock_guard lock(mutex_);
    expire(now_());
    cost_in_window_ += actual_cost - estimated_cost;
    if (cost_in_window_ < 0) cost_in_window_ = 0;
  }

  budget_state snapshot() const {
    std::lock_guard lock(mutex_);
    expire(now_());
    budget_state s;
    s.calls_last_minute = static_cast<int>(calls_.size());
    s.max_calls_per_minute = config_.max_cloud_calls_per_minute;
    s.cost_in_window = cost_in_window_;
    s.max_cost = config_.max_cost;
    return s;
  }

  const budget_config& config() const { return config_; }

 private:
  // Drops calls older than 60 s and rolls the cost window; state is mutable so that a const
  // snapshot sees the same figures a reservation would.
  void expire(clock::time_point now) const {
    while (!calls_.empty() && now - calls_.front() >= std::chrono::seconds(60)) calls_.pop_front();
    auto window = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(config_.cost_window_seconds));
    if (now - window_start_ >= window) {
      // Start the window that contains `now` (windows are contiguous, not restarted at `now`).
      auto elapsed = (now - window_start_) / window;
      window_start_ += elapsed * window;
      cost_in_window_ = 0;
    }
  }

  budget_config config_;
  clock_function now_;
  mutable std::mutex mutex_;
  mutable std::deque<clock::time_point> calls_;
  mutable double cost_in_window_ = 0.0;
  mutable clock::time_point window_start_;
};

}  // namespace edgecloud::routing
