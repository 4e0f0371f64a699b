// SPDX-License-Identifier: Apache-2.0
// The persistent thread pool: every index exactly once, every thread used, results visible to
// the caller after run() returns, wake-up after the workers fell asleep, many back-to-back runs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <edgecloud/model/thread_pool.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

using edgecloud::model::thread_pool;

TEST(ThreadPool, RunCallsEveryTaskOnceOnValidThreads) {
  for (size_t n : {1u, 2u, 3u, 5u}) {
    thread_pool pool(n);
    EXPECT_EQ(pool.size(), n);
    for (size_t tasks : {0u, 1u, 2u, 7u, 64u, 1000u}) {
      std::vector<std::atomic<int>> calls(tasks);
      std::atomic<bool> bad_thread{false};
      pool.run(tasks, [&](size_t task, size_t thread) {
        calls[task].fetch_add(1);
        if (thread >= n) bad_thread = true;
      });
      for (size_t t = 0; t < tasks; ++t)
        ASSERT_EQ(calls[t].load(), 1) << "task " << t << " of " << tasks << ", " << n << " threads";
      EXPECT_FALSE(bad_thread.load());
    }
  }
}

TEST(ThreadPool, ADescheduledWorkerDoesNotHoldTheRegion) {
  // Tasks are claimed one at a time: while one thread is stuck in task 0, the other takes every
  // remaining task. Task 0 waits for the other 19 to finish (an event, not a sleep): with
  // static partitioning its own share would never run and the wait would give up.
  thread_pool pool(2);
  std::vector<std::atomic<int>> by_thread(2);
  std::mutex m;
  std::condition_variable cv;
  int others_done = 0;
  bool others_finished_first = false;
  pool.run(20, [&](size_t task, size_t thread) {
    by_thread[thread].fetch_add(1);
    std::unique_lock lock(m);
    if (task != 0) {
      ++others_done;
      cv.notify_all();
      return;
    }
    // The limit only keeps a broken pool from hanging the test; it is no time assertion.
    others_finished_first =
        cv.wait_for(lock, std::chrono::seconds(30), [&] { return others_done == 19; });
  });
  EXPECT_TRUE(others_finished_first) << "tasks 1..19 waited for task 0's thread";
  EXPECT_EQ(by_thread[0].load() + by_thread[1].load(), 20);
  EXPECT_EQ(std::max(by_thread[0].load(), by_thread[1].load()), 19)
      << "the other thread took the rest";
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnceWithGrain) {
  thread_pool pool(3);
  for (size_t n : {0u, 1u, 7u, 16u, 17u, 100u, 1000u}) {
    for (size_t grain : {1u, 8u, 16u}) {
      std::vector<int> hits(n, 0);  // plain ints: run() must publish the writes to the caller
      pool.parallel_for(
          n,
          [&](size_t b, size_t e, size_t) {
            EXPECT_LT(b, e);
            if (b % grain != 0)
              ADD_FAILURE() << "range start " << b << " not a multiple of " << grain;
            for (size_t i = b; i < e; ++i) ++hits[i];
          },
          grain);
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i], 1) << "n " << n << " grain " << grain << " index " << i;
    }
  }
}

TEST(ThreadPool, ManyBackToBackRunsAndWakeAfterSleep) {
  thread_pool pool(2, /*spin_iterations=*/100);  // short spin: workers go to sleep quickly
  long long sum = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<long long> part(2, 0);
    pool.run(2, [&](size_t t, size_t) { part[t] = round + static_cast<long long>(t); });
    sum += part[0] + part[1];
    if (round % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  long long want = 0;
  for (int round = 0; round < 2000; ++round) want += 2LL * round + 1;
  EXPECT_EQ(sum, want);
}

TEST(ThreadPool, ThreadIndexNamesTheExecutingThread) {
  thread_pool pool(3);
  std::vector<std::thread::id> seen(3);
  std::atomic<bool> mismatch{false};
  for (int round = 0; round < 200; ++round)
    pool.run(30, [&](size_t, size_t thread) {
      // Each index must always be the same OS thread (per-thread scratch relies on it).
      static thread_local std::thread::id me = std::this_thread::get_id();
      (void)me;
      if (seen[thread] == std::thread::id())
        seen[thread] = std::this_thread::get_id();
      else if (seen[thread] != std::this_thread::get_id())
        mismatch = true;
    });
  EXPECT_FALSE(mismatch.load());
  EXPECT_EQ(seen[0], std::this_thread::get_id()) << "the caller is thread 0";
}

}  // namespace
