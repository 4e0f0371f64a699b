// SPDX-License-Identifier: Apache-2.0
// Bounded load test: thousands of requests from many threads through one openai_server with
// injected faults (HTTP errors, broken and malformed streams, slow first bytes), over several
// transports. Every request is accounted for on both sides: the client's successes + failures
// equal what was sent, each success carries exactly its own answer, and the server's counters
// add up to the chat requests it received. Prints one summary line (figures are indicative:
// the machine is shared).
#include "transport/support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>

using namespace edgecloud::testing;

TEST(LoadTest, ThousandsOfRequestsWithFaultsAllAccountedFor) {
  et::openai_server_config sc;
  sc.worker_threads = 24;
  sc.faults.error_rate = 0.05;  // server-wide 503s on top of the per-transport faults
  sc.faults.error_status = 503;
  test_server s(sc);

  // One transport per fault profile, all shared by every client thread.
  const std::vector<std::string> profiles = {
      "",                                  // only the server-wide 503s
      "status=503;rate=0.3;retry_after=0", // frequent overload, retried
      "status=429;rate=0.2",               // rate limiting, retried with backoff
      "break=truncate;break_rate=0.3",     // streams cut mid-JSON (retried)
      "break=malformed;break_rate=0.2",    // not JSON (not retried: a failure)
      "break=close_early;break_rate=0.2",  // early close (retried)
      "delay=30;rate=0",                   // slow first byte, still within limits
  };
  std::vector<std::unique_ptr<et::openai_transport>> transports;
  for (const auto& p : profiles) {
    auto cfg = quick_config(s.url());
    cfg.timeouts.total = 20000ms;
    cfg.retry.max_attempts = 3;
    cfg.retry.initial_backoff = 1ms;
    cfg.retry.max_backoff = 4ms;
    if (!p.empty()) cfg.headers = {{"X-Edgecloud-Fault", p}};
    transports.push_back(std::make_unique<et::openai_transport>(cfg));
  }

  constexpr int threads = 8, per_thread = 500;
  std::atomic<int> sent{0}, succeeded{0}, failed{0}, wrong_answer{0};
  std::mutex m;
  std::map<et::call_status, int> by_status;
  std::vector<double> latencies;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      std::vector<double> local;
      std::map<et::call_status, int> local_status;
      for (int j = 0; j < per_thread; ++j) {
        auto& t = *transports[static_cast<std::size_t>(i * per_thread + j) % transports.size()];
        const std::string text = "t" + std::to_string(i) + " r" + std::to_string(j);
        const bool stream = j % 2 == 0;
        ++sent;
        auto r = t.complete(user_request(text, stream));
        local.push_back(r.timing.total_ms);
        ++local_status[r.status];
        if (r.ok()) {
          ++succeeded;
          if (r.content != "echo: " + text) ++wrong_answer;
        } else {
          ++failed;
          if (r.error.empty()) ++wrong_answer;  // a failure must say why
        }
      }
      std::lock_guard lock(m);
      latencies.insert(latencies.end(), local.begin(), local.end());
      for (auto [k, v] : local_status) by_status[k] += v;
    });
  for (auto& th : pool) th.join();
  const double wall_ms = elapsed_ms(t0);

  // Client side: nothing lost, nothing mixed up.
  EXPECT_EQ(sent.load(), threads * per_thread);
  EXPECT_EQ(succeeded.load() + failed.load(), sent.load());
  EXPECT_EQ(wrong_answer.load(), 0);
  std::uint64_t calls = 0, ok = 0, attempts = 0;
  for (const auto& t : transports) {
    const auto st = t->stats();
    calls += st.calls;
    ok += st.succeeded;
    attempts += st.attempts;
    EXPECT_EQ(st.calls, st.succeeded + st.failed);
  }
  EXPECT_EQ(calls, static_cast<std::uint64_t>(sent.load()));
  EXPECT_EQ(ok, static_cast<std::uint64_t>(succeeded.load()));
  // The faults happened and most requests still got through thanks to the retries.
  EXPECT_GT(failed.load(), 0);
  EXPECT_GT(succeeded.load(), sent.load() * 3 / 4);

  // Server side: every request that reached it is in exactly one counter, and every success
  // the clients saw is an answer the server completed.
  const auto ss = s.server.stats();
  EXPECT_EQ(ss.chat_completions, ss.completed + ss.injected_errors + ss.injected_breaks + ss.rejected +
                                     ss.client_disconnects + ss.generator_errors);
  EXPECT_LE(ss.chat_completions, attempts);
  EXPECT_EQ(ss.completed, static_cast<std::uint64_t>(succeeded.load()));
  EXPECT_EQ(ss.rejected, 0u);
  EXPECT_GT(ss.injected_errors, 0u);
  EXPECT_GT(ss.injected_breaks, 0u);

  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies[static_cast<std::size_t>(p * (latencies.size() - 1))]; };
  std::string failures;
  for (auto [status, n] : by_status)
    if (status != et::call_status::ok) failures += std::string(" ") + et::to_string(status) + "=" + std::to_string(n);
  std::printf("load: %d requests (%llu HTTP attempts) in %.0f ms = %.0f req/s; ok %d, failed %d (%s ); "
              "latency p50 %.1f ms, p99 %.1f ms\n",
              sent.load(), static_cast<unsigned long long>(attempts), wall_ms,
              sent.load() * 1000.0 / wall_ms, succeeded.load(), failed.load(), failures.c_str(),
              pct(0.5), pct(0.99));
  // No bound on wall_ms: how fast a shared (or TSan-instrumented) machine runs is not a
  // property of the transport. Throughput is measured by benchmarks/.
}
