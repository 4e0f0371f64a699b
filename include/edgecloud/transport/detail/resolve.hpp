// SPDX-License-Identifier: Apache-2.0
// Host name resolution with a time limit, for openai_transport.
//
// getaddrinfo cannot be cancelled and can block for as long as the system's resolver likes
// (seconds per server and retry). It therefore runs on a detached helper thread that owns its
// inputs and shares only a reference-counted result slot with the caller; the caller waits for
// that slot until its limit or the app's stop request, whichever comes first. A helper that
// outlives the wait finishes on its own and frees the slot; nothing else refers to it.
//
// INTERNAL: included by openai_transport.hpp.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace edgecloud::transport::detail {

// True for "127.0.0.1", "::1" and the like: nothing to resolve.
inline bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

struct resolved {
  std::string address;  // numeric address, empty on failure
  std::string error;    // the resolver's message when it answered with a failure
};

// The system resolver: an address of `host` as text, IPv4 preferred (a connection is then made
// to that one address: "localhost" often lists ::1 first while loopback servers listen on
// 127.0.0.1 only), else the first IPv6 one.
inline resolved resolve_with_getaddrinfo(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) return {"", ::gai_strerror(rc)};
  std::string v4, v6;
  for (const addrinfo* p = list; p; p = p->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (p->ai_family == AF_INET && v4.empty() &&
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_addr, text,
                    sizeof text))
      v4 = text;
    if (p->ai_family == AF_INET6 && v6.empty() &&
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_addr, text,
                    sizeof text))
      v6 = text;
  }
  ::freeaddrinfo(list);
  if (!v4.empty()) return {v4, ""};
  if (!v6.empty()) return {v6, ""};
  return {"", "no IPv4 or IPv6 address"};
}

enum class resolve_outcome { ok, failed, timed_out, cancelled };

// Runs `resolver(host)` on a helper thread; waits until `limit` or `stop`.
template <class Clock>
resolve_outcome resolve_bounded(const std::function<resolved(const std::string&)>& resolver,
                                const std::string& host, typename Clock::time_point limit,
                                const std::stop_token& stop, resolved& out) {
  struct slot {
    std::mutex mutex;
    std::condition_variable_any cv;
    bool done = false;
    resolved result;
  };
  auto shared = std::make_shared<slot>();
  std::thread([shared, resolver, host] {
    resolved r;
    try {
      r = resolver(host);
    } catch (const std::exception& e) {
      r = {"", e.what()};
    }
    std::lock_guard lock(shared->mutex);
    shared->result = std::move(r);
    shared->done = true;
    shared->cv.notify_all();
  }).detach();
  std::unique_lock lock(shared->mutex);
  shared->cv.wait_until(lock, stop, limit, [&] { return shared->done; });
  if (!shared->done)
    return stop.stop_requested() ? resolve_outcome::cancelled : resolve_outcome::timed_out;
  out = shared->result;
  return out.address.empty() ? resolve_outcome::failed : resolve_outcome::ok;
}

}  // namespace edgecloud::transport::detail
