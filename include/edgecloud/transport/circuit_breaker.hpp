// SPDX-License-Identifier: Apache-2.0
// A thread-safe circuit breaker (closed → open → half-open → closed), shared by all the threads
// that call one transport. The router reads state() to send requests to the edge while the cloud
// is failing, instead of making every user wait for a timeout.
//
//   closed:    attempts pass; `failure_threshold` consecutive failures open the circuit.
//   open:      attempts are refused without touching the network for `open_duration`.
//   half_open: after that, at most `half_open_max_probes` attempts at a time go through as
//              probes; `success_threshold` probe successes close the circuit, one probe failure
//              opens it again for another `open_duration`.
// Results of attempts that were admitted in an earlier state (e.g. a slow call that started
// while closed and ends after the circuit opened) do not move the state: only probes decide
// in half-open. Outcomes that say nothing about the server's health (cancellation by the app,
// a 4xx for a bad request) are released as neutral.
//
// Owns nothing but its counters; the clock is injectable so tests need no sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace edgecloud::transport {

enum class circuit_state { closed, open, half_open };

inline const char* to_string(circuit_state s) {
  switch (s) {
    case circuit_state::closed: return "closed";
    case circuit_state::open: return "open";
    case circuit_state::half_open: return "half_open";
  }
  return "unknown";
}

struct circuit_breaker_config {
  int failure_threshold = 5;                      // consecutive failures that open the circuit
  std::chrono::milliseconds open_duration{10000}; // how long it stays open before probing
  int half_open_max_probes = 1;                   // concurrent probes allowed in half-open
  int success_threshold = 1;                      // probe successes needed to close
};

// A snapshot for telemetry and tests.
struct circuit_stats {
  circuit_state state = circuit_state::closed;
  int consecutive_failures = 0;
  std::uint64_t times_opened = 0;
  std::uint64_t refused = 0;  // attempts refused while open / probes exhausted
};

class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;
  using now_function = std::function<clock::time_point()>;

  // What try_acquire() granted; hand it back to record().
  enum class permit { denied, normal, probe };
  enum class outcome { success, failure, neutral };

  explicit circuit_breaker(circuit_breaker_config config = {}, now_function now = {})
      : config_(config), now_(now ? std::move(now) : now_function([] { return clock::now(); })) {
    if (config_.failure_threshold < 1) config_.failure_threshold = 1;
    if (config_.half_open_max_probes < 1) config_.half_open_max_probes = 1;
    if (config_.success_threshold < 1) config_.success_threshold = 1;
  }

  permit try_acquire() {
    std::lock_guard lock(mutex_);
    advance_locked();
    switch (state_) {
      case circuit_state::closed: return permit::normal;
      case circuit_state::open: ++refused_; return permit::denied;
      case circuit_state::half_open:
        if (probes_in_flight_ >= config_.half_open_max_probes) {
          ++refused_;
          return permit::denied;
        }
        ++probes_in_flight_;
        return permit::probe;
    }
    return permit::denied;
  }

  void record(permit p, outcome o) {
    if (p == permit::denied) return;
    std::lock_guard lock(mutex_);
    advance_locked();
    if (p == permit::probe) {
      if (probes_in_flight_ > 0) --probes_in_flight_;
      if (state_ != circuit_state::half_open) return;  // already decided by another probe
      if (o == outcome::success) {
        if (++probe_successes_ >= config_.success_threshold) close_locked();
      } else if (o == outcome::failure) {
        open_locked();
      }
      return;
    }
    if (state_ != circuit_state::closed) return;  // admitted before the circuit opened
    if (o == outcome::success) {
      consecutive_failures_ = 0;
    } else if (o == outcome::failure) {
      if (++consecutive_failures_ >= config_.failure_threshold) open_locked();
    }
  }

  circuit_state state() const {
    std::lock_guard lock(mutex_);
    advance_locked();
    return state_;
  }

  circuit_stats stats() const {
    std::lock_guard lock(mutex_);
    advance_locked();
    return {state_, consecutive_failures_, times_opened_, refused_};
  }

  // Forces the circuit closed (e.g. the app learned the network is back).
  void reset() {
    std::lock_guard lock(mutex_);
    close_locked();
  }

  const circuit_breaker_config& config() const { return config_; }

 private:
  // open → half_open happens lazily when someone looks after open_duration has passed.
  void advance_locked() const {
    if (state_ == circuit_state::open && now_() - opened_at_ >= config_.open_duration) {
      state_ = circuit_state::half_open;
      probes_in_flight_ = 0;
      probe_successes_ = 0;
    }
  }
  void open_locked() {
    state_ = circuit_state::open;
    opened_at_ = now_();
    ++times_opened_;
    probe_successes_ = 0;
  }
  void close_locked() {
    state_ = circuit_state::closed;
    consecutive_failures_ = 0;
    probes_in_flight_ = 0;
    probe_successes_ = 0;
  }

  circuit_breaker_config config_;
  now_function now_;
  mutable std::mutex mutex_;
  mutable circuit_state state_ = circuit_state::closed;
  mutable int probes_in_flight_ = 0;
  mutable int probe_successes_ = 0;
  int consecutive_failures_ = 0;
  clock::time_point opened_at_{};
  std::uint64_t times_opened_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace edgecloud::transport
