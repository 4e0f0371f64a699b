// SPDX-License-Identifier: Apache-2.0
// Fault injection for openai_server: the faults a real cloud endpoint shows (slow starts, slow
// drips, overload errors with Retry-After, broken streams, oversized answers), on demand, so
// the transport's tests run against a real HTTP peer rather than a mock of the client.
//
// Faults are configured per server (openai_server_config::faults, set_faults(), fail_next())
// and may be overridden per request with the header
//   X-Edgecloud-Fault: delay=200;drip=20;status=503;rate=0.5;retry_after=1;break=no_done
// (keys below; durations in milliseconds). A header turns its faults on for that request with
// rate 1 unless `rate=` / `break_rate=` says otherwise.
#pragma once

#include <edgecloud/error.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace edgecloud::transport {

// How a response body breaks.
enum class stream_break {
  none,
  truncate_mid_json,  // the connection closes in the middle of a JSON chunk / body
  close_early,        // the connection closes after the first content chunk, no finish
  no_done,            // the stream ends cleanly (finish_reason sent) but without data: [DONE]
  malformed_json,     // a chunk (or the body) that is not JSON
  interleave,         // a chunk of another completion (different id) inside the stream
};

inline const char* to_string(stream_break b) {
  switch (b) {
    case stream_break::none: return "none";
    case stream_break::truncate_mid_json: return "truncate";
    case stream_break::close_early: return "close_early";
    case stream_break::no_done: return "no_done";
    case stream_break::malformed_json: return "malformed";
    case stream_break::interleave: return "interleave";
  }
  return "none";
}

struct fault_config {
  std::chrono::milliseconds header_delay{0};  // sleep before sending response headers
  std::chrono::milliseconds drip{0};          // sleep between chunks / body pieces
  double error_rate = 0;                      // fraction of requests answered with error_status
  int error_status = 503;
  int retry_after_s = -1;                     // Retry-After on injected errors; -1 = none
  stream_break break_kind = stream_break::none;
  double break_rate = 0;                      // fraction of requests whose body breaks
  std::size_t huge_body_bytes = 0;            // answer with a body at least this large
};

// Parses a fault spec (the X-Edgecloud-Fault header syntax) on top of `base`.
// Keys: delay, drip (ms), status, rate, retry_after (s), break (truncate | close_early |
// no_done | malformed | interleave), break_rate, huge (bytes). Throws config_error on garbage.
inline fault_config parse_fault_spec(std::string_view spec, fault_config base = {}) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  auto number = [&](std::string_view key, std::string_view v) {
    std::string text(v);
    char* end = nullptr;
    const double d = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(d >= 0) || d > 1e12)
      throw config_error("fault spec: '" + std::string(key) + "' needs a non-negative number, got '" +
                         text + "'");
    return d;
  };
  // A rate is a fraction of requests: 0..1, never more (a fault spec with rate=5 is a typo).
  auto rate = [&](std::string_view key, std::string_view v) {
    const double d = number(key, v);
    if (d > 1)
      throw config_error("fault spec: '" + std::string(key) + "' is a fraction in [0, 1], got '" +
                         std::string(v) + "'");
    return d;
  };
  bool rate_given = false, break_rate_given = false, status_given = false;
  while (!spec.empty()) {
    const auto semi = spec.find(';');
    std::string_view item = trim(spec.substr(0, semi));
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) throw config_error("fault spec: expected key=value, got '" + std::string(item) + "'");
    const std::string_view key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
    if (key == "delay") {
      base.header_delay = std::chrono::milliseconds(static_cast<long long>(number(key, value)));
    } else if (key == "drip") {
      base.drip = std::chrono::milliseconds(static_cast<long long>(number(key, value)));
    } else if (key == "status") {
      const double s = number(key, value);
      if (s < 100 || s > 599) throw config_error("fault spec: status must be an HTTP status");
      base.error_status = static_cast<int>(s);
      status_given = true;
    } else if (key == "rate") {
      base.error_rate = rate(key, value);
      rate_given = true;
    } else if (key == "retry_after") {
      const double s = number(key, value);
      if (s > 86400) throw config_error("fault spec: retry_after is at most 86400 s");
      base.retry_after_s = static_cast<int>(s);
    } else if (key == "break") {
      if (value == "truncate") base.break_kind = stream_break::truncate_mid_json;
      else if (value == "close_early") base.break_kind = stream_break::close_early;
      else if (value == "no_done") base.break_kind = stream_break::no_done;
      else if (value == "malformed") base.break_kind = stream_break::malformed_json;
      else if (value == "interleave") base.break_kind = stream_break::interleave;
      else if (value == "none") base.break_kind = stream_break::none;
      else throw config_error("fault spec: unknown break '" + std::string(value) + "'");
      if (!break_rate_given) base.break_rate = 1;
    } else if (key == "break_rate") {
      base.break_rate = rate(key, value);
      break_rate_given = true;
    } else if (key == "huge") {
      base.huge_body_bytes = static_cast<std::size_t>(number(key, value));
    } else {
      throw config_error("fault spec: unknown key '" + std::string(key) + "'");
    }
  }
  if (status_given && !rate_given) base.error_rate = 1;
  return base;
}

}  // namespace edgecloud::transport
