// SPDX-License-Identifier: Apache-2.0
// Out-of-class definitions of openai_transport (included by openai_transport.hpp only).
// The attempt loop, the per-attempt watchdog and the body receivers live here.
#pragma once

#include <edgecloud/transport/openai_transport.hpp>

#include <algorithm>
#include <cctype>

namespace edgecloud::transport {

namespace detail {
inline bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}
inline const char* http_reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}
inline std::string ms_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}
}  // namespace detail

inline std::unique_ptr<httplib::ClientImpl> openai_transport::acquire_client() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_clients_.empty()) {
      auto c = std::move(idle_clients_.back());
      idle_clients_.pop_back();
      return c;
    }
  }
  std::unique_ptr<httplib::ClientImpl> client;
  if (url_.tls()) {
    auto tls = std::make_unique<httplib::SSLClient>(url_.host, url_.port);
    tls->enable_server_certificate_verification(config_.tls.verify_peer);
    if (!config_.tls.ca_cert_file.empty() || !config_.tls.ca_cert_dir.empty())
      tls->set_ca_cert_path(config_.tls.ca_cert_file, config_.tls.ca_cert_dir);
    client = std::move(tls);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url_.host, url_.port);
  }
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  return client;
}

inline void openai_transport::release_client(std::unique_ptr<httplib::ClientImpl> client,
                                             bool reusable) {
  if (!reusable) return;
  std::lock_guard lock(pool_mutex_);
  if (idle_clients_.size() < config_.max_idle_connections)
    idle_clients_.push_back(std::move(client));
}

inline detail::resolve_outcome openai_transport::resolve_host(clock::time_point limit,
                                                              const std::stop_token& stop,
                                                              std::string& address,
                                                              std::string& error) {
  {
    std::lock_guard lock(dns_mutex_);
    if (!dns_address_.empty() && clock::now() < dns_expires_) {
      address = dns_address_;
      return detail::resolve_outcome::ok;
    }
  }
  detail::resolved r;
  const auto outcome = detail::resolve_bounded<clock>(resolver_, url_.host, limit, stop, r);
  if (outcome == detail::resolve_outcome::ok) {
    std::lock_guard lock(dns_mutex_);
    dns_address_ = r.address;
    dns_expires_ = clock::now() + config_.dns_cache_ttl;
  }
  address = r.address;
  error = r.error.empty() ? "no address" : r.error;
  return outcome;
}

inline void openai_transport::forget_resolved_address() {
  if (host_is_literal_) return;
  std::lock_guard lock(dns_mutex_);
  dns_address_.clear();
}

inline openai_transport::attempt_result openai_transport::run_attempt(
    httplib::ClientImpl& client, const std::string& body, const httplib::Headers& headers,
    bool streaming, const call_options& options, clock::time_point call_start,
    clock::time_point deadline, chat_response& out, bool& delivered) {
  using std::chrono::milliseconds;
  const auto& t = config_.timeouts;
  const auto attempt_start = clock::now();
  const std::string where = "POST " + endpoint_url();
  // Name resolution is part of connecting: bounded by the connect timeout, the deadline and the
  // app's stop request (detail/resolve.hpp), and remembered for dns_cache_ttl.
  if (!host_is_literal_) {
    const auto limit = std::min(deadline, attempt_start + t.connect);
    std::string address, error;
    const auto outcome = resolve_host(limit, options.cancel, address, error);
    if (outcome != detail::resolve_outcome::ok) {
      attempt_result r;
      r.server_health_known = false;  // the cloud was never reached
      if (outcome == detail::resolve_outcome::cancelled) {
        r.status = call_status::cancelled;
        r.error = "cancelled by the app (resolving " + url_.host + ")";
      } else if (outcome == detail::resolve_outcome::timed_out) {
        r.status = limit == deadline ? call_status::timeout : call_status::connection_error;
        r.error = where + ": resolving host " + url_.host + " took longer than " +
                  (limit == deadline ? "the total deadline"
                                     : "the connect timeout (" + detail::ms_text(t.connect) + ")");
        r.retryable = limit != deadline;
      } else {
        r.status = call_status::connection_error;
        r.error = where + ": cannot resolve host " + url_.host + ": " + error;
        r.retryable = true;
      }
      return r;
    }
    client.set_hostname_addr_map({{url_.host, address}});
  }
  const auto connect_start = clock::now();
  const auto remaining =
      std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - connect_start));
  const auto connect_left =
      std::max(milliseconds(1),
               t.connect - std::chrono::duration_cast<milliseconds>(connect_start - attempt_start));
  client.set_connection_timeout(std::min(connect_left, remaining));
  // httplib's own read timeout is only a backstop: the watchdog below is exact.
  client.set_read_timeout(std::min(std::max(t.first_byte, t.idle), remaining) + milliseconds(100));
  client.set_write_timeout(std::min(std::max(t.idle, milliseconds(1)), remaining));

  std::atomic<abort_reason> reason{abort_reason::none};
  std::atomic<bool> headers_seen{false};
  std::atomic<clock::rep> last_progress{attempt_start.time_since_epoch().count()};
  auto stop_with = [&](abort_reason r) {
    abort_reason expected = abort_reason::none;
    reason.compare_exchange_strong(expected, r);
  };
  auto touch = [&] { last_progress.store(clock::now().time_since_epoch().count()); };

  // The watchdog: sleeps until the next limit (deadline, first byte, idle) or the app's stop
  // request, then aborts the exchange by shutting the socket down, repeating every 10 ms until
  // httplib has returned (a stop that lands while the socket is still being connected only takes
  // effect on the next call).
  std::mutex wd_mutex;
  std::condition_variable_any wd_cv;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock lock(wd_mutex);
    while (!finished) {
      const auto now = clock::now();
      const auto idle_limit = clock::time_point(clock::duration(last_progress.load())) + t.idle;
      const auto first_byte_limit = attempt_start + t.first_byte;
      if (reason.load() == abort_reason::none) {
        if (options.cancel.stop_requested())
          stop_with(abort_reason::cancelled);
        else if (now >= deadline)
          stop_with(abort_reason::deadline);
        else if (!headers_seen.load() && now >= first_byte_limit)
          stop_with(abort_reason::first_byte);
        else if (headers_seen.load() && now >= idle_limit)
          stop_with(abort_reason::idle);
      }
      if (reason.load() != abort_reason::none) {
        lock.unlock();
        client.stop();
        lock.lock();
        wd_cv.wait_for(lock, milliseconds(10), [&] { return finished; });
        continue;
      }
      const bool seen = headers_seen.load();
      const auto wake = std::min(deadline, seen ? idle_limit : first_byte_limit);
      // Wakes at `wake`, on the app's stop request, at the end, or when the headers arrive
      // (the next limit is then the idle one).
      wd_cv.wait_until(lock, options.cancel, wake,
                       [&] { return finished || headers_seen.load() != seen; });
    }
  });

  int status = 0;
  bool sse = false;
  std::optional<milliseconds> retry_after;
  std::string raw;  // non-SSE body (completion or error)
  std::size_t received = 0;
  sse_parser parser(config_.max_response_bytes);
  stream_accumulator accumulator;
  bool saw_done = false;
  std::string protocol_error;
  std::string content_delta, reasoning_delta;
  int touched = -1;

  httplib::Request hreq;
  hreq.method = "POST";
  hreq.path = url_.endpoint("/chat/completions");
  hreq.headers = headers;
  hreq.body = body;
  hreq.response_handler = [&](const httplib::Response& r) {
    touch();
    {
      // Under the watchdog's mutex, so it cannot miss the change between its check and its
      // wait: it must now sleep until the idle limit instead of the first-byte limit.
      std::lock_guard lock(wd_mutex);
      headers_seen.store(true);
    }
    wd_cv.notify_all();
    status = r.status;
    out.http_status = r.status;
    out.timing.first_byte_ms = ms_since(call_start);
    sse = r.status / 100 == 2 &&
          detail::starts_with_icase(r.get_header_value("Content-Type"), "text/event-stream");
    retry_after =
        parse_retry_after(r.get_header_value("Retry-After"), r.get_header_value("retry-after-ms"));
    return reason.load() == abort_reason::none;
  };
  hreq.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    touch();
    if (reason.load() != abort_reason::none) return false;
    if (options.cancel.stop_requested()) return stop_with(abort_reason::cancelled), false;
    if (clock::now() >= deadline) return stop_with(abort_reason::deadline), false;
    received += n;
    if (received > config_.max_response_bytes) return stop_with(abort_reason::too_large), false;
    if (!sse) {
      raw.append(data, n);
      return true;
    }
    const bool keep_going = parser.feed(std::string_view(data, n), [&](const sse_event& ev) {
      if (ev.data == "[DONE]") {
        saw_done = true;
        return false;  // the answer is complete; stop reading (the connection is not reused)
      }
      if (ev.event == "error") {
        protocol_error = "server sent an error event: " + error_message_from_body(ev.data);
        return false;
      }
      protocol_error = accumulator.apply(ev.data, out, content_delta, reasoning_delta, touched);
      if (!protocol_error.empty()) return false;
      if (content_delta.empty() && reasoning_delta.empty() && touched < 0) return true;
      if (out.timing.first_token_ms < 0) out.timing.first_token_ms = ms_since(call_start);
      if (!options.on_delta) return true;
      delivered = true;
      const stream_delta d{
          content_delta, reasoning_delta,
          touched >= 0 ? &out.tool_calls[static_cast<std::size_t>(touched)] : nullptr};
      if (!options.on_delta(d)) {
        stop_with(abort_reason::callback_stop);
        return false;
      }
      return true;
    });
    if (!keep_going && !saw_done && reason.load() == abort_reason::none) {
      if (!parser.error().empty())
        stop_with(abort_reason::too_large);
      else
        stop_with(abort_reason::protocol);
    }
    return keep_going;
  };

  httplib::Response hres;
  httplib::Error err = httplib::Error::Success;
  const bool sent = reason.load() == abort_reason::none && client.send(hreq, hres, err);
  {
    std::lock_guard lock(wd_mutex);
    finished = true;
  }
  wd_cv.notify_all();
  watchdog.join();

  attempt_result r;
  const abort_reason why = reason.load();
  switch (why) {
    case abort_reason::none:
      break;
    case abort_reason::cancelled:
    case abort_reason::callback_stop:
      r.status = call_status::cancelled;
      r.error = why == abort_reason::cancelled ? "cancelled by the app"
                                               : "stopped by the app's stream callback";
      r.server_health_known = false;
      return r;
    case abort_reason::deadline:
      r.status = call_status::timeout;
      r.error = where + ": total deadline passed (" +
                detail::ms_text(std::chrono::duration_cast<milliseconds>(deadline - call_start)) +
                (headers_seen ? ", response was still arriving)" : ", no response yet)");
      return r;
    case abort_reason::first_byte:
      r.status = call_status::timeout;
      r.error = where + ": no response headers within " + detail::ms_text(t.first_byte);
      r.retryable = true;
      return r;
    case abort_reason::idle:
      r.status = call_status::timeout;
      r.error = where + ": response stalled, no bytes for " + detail::ms_text(t.idle);
      r.retryable = true;
      return r;
    case abort_reason::too_large:
      r.status = call_status::body_too_large;
      r.error = where + ": response larger than the " + std::to_string(config_.max_response_bytes) +
                "-byte cap (max_response_bytes)";
      return r;
    case abort_reason::protocol:
      r.status = call_status::protocol_error;
      r.error = where + ": " + protocol_error;
      r.retryable = config_.retry.retry_on_malformed;
      return r;
  }

  if (!sent && !saw_done) {
    r.status = call_status::connection_error;
    r.retryable = true;
    if (!headers_seen) {
      forget_resolved_address();  // the name may point elsewhere now (fail-over): ask again
      r.error = where + ": " + httplib::to_string(err);
      if (err == httplib::Error::SSLServerVerification) {
        r.error += " (the server's TLS certificate is not trusted; set tls.ca_cert_file)";
        r.retryable = false;
      } else if (err == httplib::Error::SSLLoadingCerts) {
        r.retryable = false;
      }
    } else if (sse) {
      r.error = where + ": stream closed early after " +
                std::to_string(parser.events_dispatched()) + " events, before [DONE]";
    } else {
      r.error = where + ": connection closed while reading the response body (" +
                std::to_string(received) + " bytes received)";
    }
    return r;
  }

  if (status / 100 != 2) {
    r.status = call_status::http_error;
    r.error = where + ": HTTP " + std::to_string(status) + " " +
              detail::http_reason_phrase(status) +
              (raw.empty() ? std::string() : ": " + error_message_from_body(raw));
    r.retryable = is_retryable_status(status);
    r.server_health_known = r.retryable;  // a 400/401/404 says nothing about the server's health
    r.retry_after = retry_after;
    r.reusable = true;
    return r;
  }

  if (sse) {
    if (!saw_done) {
      r.status = call_status::protocol_error;
      r.retryable = true;
      if (parser.has_partial_event()) {
        r.error = where + ": stream truncated in the middle of an event";
        return r;
      }
      if (out.finish_reason.empty() || config_.require_done_marker) {
        r.error = where + ": stream ended without data: [DONE]" +
                  (out.finish_reason.empty() ? " and without a finish_reason" : "");
        return r;
      }
      r.status = call_status::ok;
      r.retryable = false;
      r.reusable = true;
    }
    return r;
  }

  auto json = nlohmann::json::parse(raw, nullptr, false);
  std::string problem = json.is_discarded()
                            ? "malformed JSON in completion: " + error_message_from_body(raw)
                            : completion_from_json(json, out);
  if (!problem.empty()) {
    r.status = call_status::protocol_error;
    r.error = where + ": " + problem;
    r.retryable = config_.retry.retry_on_malformed;
    return r;
  }
  r.reusable = true;
  if (streaming && options.on_delta && (!out.content.empty() || !out.tool_calls.empty())) {
    // The server ignored "stream": hand the whole answer over as one delta.
    out.timing.first_token_ms = ms_since(call_start);
    delivered = true;
    const stream_delta d{out.content, out.reasoning_content,
                         out.tool_calls.empty() ? nullptr : &out.tool_calls.front()};
    if (!options.on_delta(d)) {
      r.status = call_status::cancelled;
      r.error = "stopped by the app's stream callback";
      r.server_health_known = false;
    }
  }
  return r;
}

inline chat_response openai_transport::complete(const chat_request& request,
                                                const call_options& options) {
  using std::chrono::milliseconds;
  const auto start = clock::now();
  const auto budget = options.total_timeout.value_or(config_.timeouts.total);
  const auto deadline = start + budget;
  calls_.fetch_add(1);
  chat_response out;
  auto finish = [&]() -> chat_response {
    out.timing.total_ms = ms_since(start);
    (out.ok() ? succeeded_ : failed_).fetch_add(1);
    if (out.status == call_status::timeout) timeouts_.fetch_add(1);
    if (out.status == call_status::cancelled) cancelled_.fetch_add(1);
    return std::move(out);
  };
  // Invalid UTF-8 from the app is replaced (U+FFFD) rather than failing the call.
  const std::string body =
      request_to_json(request, config_.model, config_.findings, config_.stream_usage)
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  httplib::Headers headers = {
      {"Content-Type", "application/json"},
      {"Accept", request.stream ? "text/event-stream" : "application/json"}};
  if (!config_.api_key.empty()) headers.emplace("Authorization", "Bearer " + config_.api_key);
  for (const auto& [k, v] : config_.headers) headers.emplace(k, v);
  if (config_.findings == findings_placement::header && !request.findings.empty()) {
    // Header values must be ASCII: ensure_ascii escapes everything else as \uXXXX.
    headers.emplace(std::string(findings_header),
                    findings_to_json(request.findings)
                        .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  }
  bool delivered = false;
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    const auto suffix =
        last_error.empty() ? std::string() : " (previous attempt: " + last_error + ")";
    if (options.cancel.stop_requested()) {
      out.status = call_status::cancelled;
      out.error = "cancelled by the app" + suffix;
      return finish();
    }
    if (clock::now() >= deadline) {
      out.status = call_status::timeout;
      out.error = "POST " + endpoint_url() + ": deadline of " + detail::ms_text(budget) +
                  " passed" + suffix;
      return finish();
    }
    const auto permit = breaker_.try_acquire();
    if (permit == circuit_breaker::permit::denied) {
      refused_.fetch_add(1);
      out.status = call_status::circuit_open;
      out.error = "circuit breaker open for " + url_.origin() +
                  ": the cloud failed repeatedly, calls are refused until it half-opens" + suffix;
      return finish();
    }
    out.content.clear();
    out.reasoning_content.clear();
    out.tool_calls.clear();
    out.finish_reason.clear();
    out.usage = {};
    out.id.clear();
    out.model.clear();
    out.http_status = 0;
    out.timing.first_byte_ms = out.timing.first_token_ms = -1;
    out.attempts = attempt;
    attempts_.fetch_add(1);

    auto client = acquire_client();
    attempt_result r = run_attempt(*client, body, headers, request.stream, options, start, deadline,
                                   out, delivered);
    release_client(std::move(client), r.reusable);
    breaker_.record(permit, r.status == call_status::ok ? circuit_breaker::outcome::success
                            : r.server_health_known     ? circuit_breaker::outcome::failure
                                                        : circuit_breaker::outcome::neutral);
    if (r.status == call_status::ok) {
      out.status = call_status::ok;
      out.error.clear();
      return finish();
    }
    out.status = r.status;
    out.error = r.error + " [attempt " + std::to_string(attempt) + " of " +
                std::to_string(config_.retry.max_attempts) + "]";
    last_error = r.error;
    if (!r.retryable || attempt >= config_.retry.max_attempts) return finish();
    if (delivered) {
      out.error += "; not retried: part of the answer had already been streamed to the app";
      return finish();
    }
    const bool server_asked = config_.retry.honour_retry_after && r.retry_after.has_value();
    const milliseconds wait =
        server_asked ? *r.retry_after : backoff_delay(config_.retry, attempt, random_unit());
    if (clock::now() + wait >= deadline) {
      out.error += "; gave up: the next attempt (in " + detail::ms_text(wait) +
                   (server_asked ? ", as the server's Retry-After asked" : "") +
                   ") would pass the deadline";
      return finish();
    }
    retries_.fetch_add(1);
    const auto slept_from = clock::now();
    {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, options.cancel, wait, [] { return false; });
    }
    out.timing.backoff_ms += ms_since(slept_from);
  }
}

}  // namespace edgecloud::transport
