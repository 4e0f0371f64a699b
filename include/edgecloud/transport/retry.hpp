// SPDX-License-Identifier: Apache-2.0
// Retry policy of the transport: which failures are retried, how long to wait between
// attempts, and how to read a server's Retry-After.
//
// Backoff is exponential with jitter: the n-th retry (n = 1, 2, ...) waits
//   d_n = min(max_backoff, initial_backoff * multiplier^(n-1)) * (1 - jitter * u),  u ~ U[0, 1)
// so with jitter = 0.5 the wait is uniform in [d/2, d]: clients that failed together do not
// retry together (the "equal jitter" of the AWS architecture blog), yet the wait never drops
// below half the nominal backoff. A Retry-After (or OpenAI's retry-after-ms) from a 429/503
// replaces the computed backoff: the server knows better. No wait ever passes the call's
// deadline: when the server asks for more than is left, the call fails at once and says so.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace edgecloud::transport {

struct retry_config {
  int max_attempts = 3;                             // first try included; 1 = no retries
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 2.0;
  double jitter = 0.5;                              // in [0, 1]
  bool honour_retry_after = true;
  bool retry_on_malformed = false;  // malformed JSON is usually a server bug, not transient
};

// Nominal-then-jittered wait before retry number `retry` (1-based); `u` in [0, 1).
inline std::chrono::milliseconds backoff_delay(const retry_config& cfg, int retry, double u) {
  if (retry < 1) retry = 1;
  double nominal = static_cast<double>(cfg.initial_backoff.count()) *
                   std::pow(std::max(1.0, cfg.multiplier), retry - 1);
  nominal = std::min(nominal, static_cast<double>(cfg.max_backoff.count()));
  const double jitter = std::clamp(cfg.jitter, 0.0, 1.0);
  const double waited = nominal * (1.0 - jitter * std::clamp(u, 0.0, 1.0));
  return std::chrono::milliseconds(static_cast<long long>(std::llround(waited)));
}

// HTTP statuses worth another attempt: rate limiting and server-side failures. 501 (not
// implemented) and 505 will not get better by asking again.
inline bool is_retryable_status(int status) {
  if (status == 408 || status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

namespace detail {
inline std::optional<long long> parse_non_negative(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty() || s.size() > 12) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), to seconds since the epoch.
inline std::optional<std::time_t> parse_http_date(std::string_view s) {
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s.substr(25) != " GMT") return std::nullopt;
  auto num = [&](size_t pos, size_t len) { return parse_non_negative(s.substr(pos, len)); };
  auto day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  int month = -1;
  for (int i = 0; i < 12; ++i)
    if (s.substr(8, 3) == months[i]) month = i;
  if (!day || !year || !hh || !mm || !ss || month < 0) return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm), avoiding timegm's locale/TZ dependence.
  long long y = *year - (month < 2 ? 1 : 0);
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const long long yoe = y - era * 400;
  const long long m = month + 1;
  const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + *day - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days = era * 146097 + doe - 719468;
  return static_cast<std::time_t>(days * 86400 + *hh * 3600 + *mm * 60 + *ss);
}
}  // namespace detail

// The wait a server asked for: `retry-after-ms` (OpenAI, milliseconds) wins over `Retry-After`
// (delta-seconds or an HTTP date). nullopt when absent or unreadable.
inline std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view retry_after, std::string_view retry_after_ms,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  using std::chrono::milliseconds;
  if (auto ms = detail::parse_non_negative(retry_after_ms)) return milliseconds(*ms);
  if (auto secs = detail::parse_non_negative(retry_after)) return milliseconds(*secs * 1000);
  if (auto when = detail::parse_http_date(retry_after)) {
    const auto delta = std::chrono::system_clock::from_time_t(*when) - now;
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(delta));
  }
  return std::nullopt;
}

}  // namespace edgecloud::transport
