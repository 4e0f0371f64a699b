// SPDX-License-Identifier: Apache-2.0
// A persistent fork-join thread pool for the token loop.
//
// Why not std::async / a task queue: one decode step of a 28-layer model runs ~140 parallel
// regions (every product, every attention), each only tens of microseconds long. Waking threads
// through a mutex + condition variable costs 5-50 µs per region, which would eat most of the
// step. Here the workers stay hot: after a region they spin on an atomic generation counter
// for a short while (covering the gap to the next region), then sleep on a futex
// (std::atomic::wait) so an idle session costs no CPU.
//
// Work is claimed, not assigned: a region is `n_tasks` tasks, and every thread (the caller
// included) claims the next task index with one compare-exchange until none is left. A worker
// that is descheduled (a loaded machine, more threads than free cores) therefore never holds
// the region up: the others take its share, and the join only waits for tasks already running.
// A static split would make every region as slow as its slowest thread.
//
// Ownership: the pool owns its worker threads; the destructor stops and joins them. The job
// passed to `run` is borrowed for the duration of the call (no copy, no allocation): `run`
// never allocates, so it is safe in the token loop.
//
// Not re-entrant: `run` must not be called from inside a job, nor from two threads at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace edgecloud::model {

namespace detail {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}
}  // namespace detail

class thread_pool {
 public:
  // `n_threads` counts the calling thread: a pool of 1 runs every job inline with no workers.
  // 0 means std::thread::hardware_concurrency(). `spin_iterations` (pause instructions, ~20-40
  // ns each) is how long an idle worker polls before it sleeps.
  explicit thread_pool(size_t n_threads = 0, uint32_t spin_iterations = 4000)
      : spin_iterations_(spin_iterations) {
    if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    n_threads_ = n_threads;
    workers_.reserve(n_threads - 1);
    for (size_t i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    stopping_.store(true, std::memory_order_seq_cst);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
  }

  size_t size() const noexcept { return n_threads_; }

  // Runs job(task, thread) for every task in [0, n_tasks), spread over the threads (`thread`
  // in [0, size()) identifies the executing thread, e.g. for per-thread scratch; the caller is
  // thread 0), and returns when all tasks have finished. The job must not throw.
  template <class Job>
  void run(size_t n_tasks, Job&& job) {
    using job_t = std::remove_reference_t<Job>;
    if (n_tasks == 0) return;
    if (n_threads_ == 1 || n_tasks == 1 || n_tasks >= closed_index) {
      for (size_t i = 0; i < n_tasks; ++i) job(i, size_t{0});
      return;
    }
    const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
    // Every access to the region's fields is seq_cst (plain loads on x86; a few stores per
    // region): a worker that read fields of a later region cannot then win a claim on an
    // earlier one, because the earlier region was closed (next_ changed) before they were
    // written, and its compare-exchange sees that change.
    job_ctx_.store(const_cast<void*>(static_cast<const void*>(&job)), std::memory_order_seq_cst);
    job_fn_.store(
        [](void* ctx, size_t task, size_t thread) { (*static_cast<job_t*>(ctx))(task, thread); },
        std::memory_order_seq_cst);
    n_tasks_.store(n_tasks, std::memory_order_seq_cst);
    completed_.store(0, std::memory_order_seq_cst);
    next_.store(uint64_t{gen} << 32, std::memory_order_seq_cst);
    // Also a Dekker pair with worker_loop: "publish generation, then look for sleepers" against
    // "announce sleeping, then re-read generation": one side sees the other, no lost wake-up.
    generation_.store(gen, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();

    claim_and_run(gen, 0);
    // Wait for tasks other threads claimed and still run. After ~1 ms of spinning, yield: a
    // worker that lost its core cannot finish while we hold ours.
    for (uint32_t spins = 0; completed_.load(std::memory_order_acquire) != n_tasks; ++spins) {
      if (spins < 50000)
        detail::cpu_relax();
      else
        std::this_thread::yield();
    }
    next_.store(uint64_t{gen} << 32 | closed_index, std::memory_order_seq_cst);  // close
  }

  // Splits [0, n) into ranges of whole multiples of `grain` (e.g. 16 rows, so no two threads
  // write one cache line), about `ranges_per_thread` per thread for balance, and calls
  // body(begin, end, thread) for each.
  template <class Body>
  void parallel_for(size_t n, Body&& body, size_t grain = 1, size_t ranges_per_thread = 4) {
    if (n == 0) return;
    grain = std::max<size_t>(grain, 1);
    const size_t units = (n + grain - 1) / grain;
    const size_t ranges = std::min(units, n_threads_ == 1 ? 1 : n_threads_ * ranges_per_thread);
    run(ranges, [&](size_t r, size_t thread) {
      const size_t b = std::min(n, units * r / ranges * grain);
      const size_t e = std::min(n, units * (r + 1) / ranges * grain);
      if (b < e) body(b, e, thread);
    });
  }

 private:
  // Claims tasks of generation `gen` one at a time until none is left or the region is over.
  void claim_and_run(uint32_t gen, size_t thread) {
    uint64_t word = next_.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(word >> 32) != gen) return;  // a later region already began
      const size_t task = static_cast<uint32_t>(word);
      // Read the job before claiming: a successful claim proves the region (and so the job,
      // which lives on the caller's stack) is still current.
      void* ctx = job_ctx_.load(std::memory_order_seq_cst);
      auto fn = job_fn_.load(std::memory_order_seq_cst);
      const size_t total = n_tasks_.load(std::memory_order_seq_cst);
      if (task >= total) return;
      if (!next_.compare_exchange_weak(word, word + 1, std::memory_order_seq_cst,
                                       std::memory_order_seq_cst))
        continue;
      fn(ctx, task, thread);
      completed_.fetch_add(1, std::memory_order_release);
      word = next_.load(std::memory_order_acquire);
    }
  }

  void worker_loop(size_t index) {
    uint32_t seen = 0;
    for (;;) {
      uint32_t gen = generation_.load(std::memory_order_acquire);
      uint32_t spins = 0;
      while (gen == seen) {
        if (++spins < spin_iterations_) {
          detail::cpu_relax();
        } else {
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          // std::atomic::wait returns at once when the value already differs, so a region
          // published between our last load and here is not missed.
          generation_.wait(seen, std::memory_order_seq_cst);
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          spins = 0;
        }
        gen = generation_.load(std::memory_order_acquire);
      }
      seen = gen;
      if (stopping_.load(std::memory_order_seq_cst)) return;
      claim_and_run(gen, index);
    }
  }

  static constexpr uint64_t closed_index = 0xffffffffu;  // > any task count (checked in run)

  size_t n_threads_ = 1;
  uint32_t spin_iterations_;
  std::vector<std::thread> workers_;
  std::atomic<void*> job_ctx_{nullptr};
  std::atomic<void (*)(void*, size_t, size_t)> job_fn_{nullptr};
  std::atomic<size_t> n_tasks_{0};
  alignas(64) std::atomic<uint64_t> next_{0};        // generation << 32 | next task index
  alignas(64) std::atomic<size_t> completed_{0};     // tasks finished in this region
  alignas(64) std::atomic<uint32_t> generation_{0};  // futex word the workers sleep on
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace edgecloud::model
