// SPDX-License-Identifier: Apache-2.0
// The persistent thread pool: every index exactly once, every thread used, results visible to
// the caller after run() returns, wake-up after the workers fell asleep, many back-to-back runs.
#include <edgecloud/model/thread_pool.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace {

using edgecloud::model::thread_pool;

TEST(ThreadPool, RunCallsEveryThreadOnce) {
  for (size_t n : {1u, 2u, 3u, 5u}) {
    thread_pool pool(n);
    EXPECT_EQ(pool.size(), n);
    std::vector<std::atomic<int>> calls(n);
    std::atomic<size_t> reported_n{0};
    pool.run([&](size_t t, size_t total) {
      calls[t].fetch_add(1);
      reported_n.store(total);
    });
    for (size_t t = 0; t < n; ++t) EXPECT_EQ(calls[t].load(), 1) << "thread " << t << " of " << n;
    EXPECT_EQ(reported_n.load(), n);
  }
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnceWithGrain) {
  thread_pool pool(3);
  for (size_t n : {0u, 1u, 7u, 16u, 17u, 100u, 1000u}) {
    for (size_t grain : {1u, 8u, 16u}) {
      std::vector<int> hits(n, 0);  // plain ints: run() must publish the writes to the caller
      pool.parallel_for(n, [&](size_t b, size_t e) {
        EXPECT_LT(b, e);
        if (b % grain != 0) ADD_FAILURE() << "range start " << b << " not a multiple of " << grain;
        for (size_t i = b; i < e; ++i) ++hits[i];
      }, grain);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "n " << n << " grain " << grain << " index " << i;
    }
  }
}

TEST(ThreadPool, ManyBackToBackRunsAndWakeAfterSleep) {
  thread_pool pool(2, /*spin_iterations=*/100);  // short spin: workers go to sleep quickly
  long long sum = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<long long> part(2, 0);
    pool.run([&](size_t t, size_t) { part[t] = round + static_cast<long long>(t); });
    sum += part[0] + part[1];
    if (round % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  long long want = 0;
  for (int round = 0; round < 2000; ++round) want += 2LL * round + 1;
  EXPECT_EQ(sum, want);
}

TEST(ThreadPool, SplitsWorkAcrossDistinctThreads) {
  thread_pool pool(2);
  std::set<std::thread::id> ids;
  std::vector<std::thread::id> seen(2);
  pool.run([&](size_t t, size_t) { seen[t] = std::this_thread::get_id(); });
  ids.insert(seen.begin(), seen.end());
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(seen[0], std::this_thread::get_id()) << "the caller is thread 0";
}

}  // namespace
