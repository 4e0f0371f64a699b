// SPDX-License-Identifier: Apache-2.0
// A persistent fork-join thread pool for the token loop.
//
// Why not std::async / a task queue: one decode step of a 28-layer model runs ~200 parallel
// regions (every matvec, every attention), each only tens of microseconds long. Waking threads
// through a mutex + condition variable costs 5-50 µs per region, which would eat most of the
// step. Here the workers stay hot: after a region they spin on an atomic "generation" counter
// for a short while (a few tens of µs, long enough to cover the gap to the next region), then
// fall back to sleeping on a futex (std::atomic::wait) so an idle session costs no CPU.
// Fork and join are each one atomic store plus a spin: a few µs.
//
// Ownership: the pool owns its worker threads; the destructor stops and joins them. The job
// passed to `run` is borrowed for the duration of the call only (no copy, no allocation): `run`
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
  // 0 means std::thread::hardware_concurrency().
  explicit thread_pool(size_t n_threads = 0, uint32_t spin_iterations = 20000)
      : spin_iterations_(spin_iterations) {
    if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    n_threads_ = n_threads;
    workers_.reserve(n_threads - 1);
    for (size_t i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    stopping_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
  }

  size_t size() const noexcept { return n_threads_; }

  // Calls job(thread_index, n_threads) once on every thread (the caller is thread 0) and
  // returns when all have finished. The job must not throw.
  template <class Job>
  void run(Job&& job) {
    using job_t = std::remove_reference_t<Job>;
    if (n_threads_ == 1) {
      job(size_t{0}, size_t{1});
      return;
    }
    job_ctx_ = const_cast<void*>(static_cast<const void*>(&job));
    job_fn_ = [](void* ctx, size_t t, size_t n) { (*static_cast<job_t*>(ctx))(t, n); };
    done_.store(0, std::memory_order_relaxed);
    // seq_cst on both sides (here and in worker_loop) makes "publish generation, then look for
    // sleepers" and "announce sleeping, then re-read generation" a Dekker pair: at least one
    // side sees the other, so no wake-up is lost.
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
    job(size_t{0}, n_threads_);
    const size_t expected = n_threads_ - 1;
    // A worker that lost its core (more runnable threads than cores) cannot finish while we
    // spin on ours: after a long spin (~1 ms), yield so it can run.
    for (uint32_t spins = 0; done_.load(std::memory_order_acquire) != expected; ++spins) {
      if (spins < 100000) detail::cpu_relax();
      else std::this_thread::yield();
    }
  }

  // Splits [0, n) into one contiguous range per thread, rounded to multiples of `grain`
  // (e.g. 16 rows so that no two threads write the same cache line), and calls
  // body(begin, end) for each non-empty range.
  template <class Body>
  void parallel_for(size_t n, Body&& body, size_t grain = 1) {
    if (n == 0) return;
    const size_t chunks = (n + grain - 1) / grain;
    const size_t active = std::min(n_threads_, chunks);
    if (active <= 1) {
      body(size_t{0}, n);
      return;
    }
    run([&](size_t t, size_t) {
      if (t >= active) return;
      const size_t c0 = chunks * t / active, c1 = chunks * (t + 1) / active;
      const size_t b = c0 * grain, e = std::min(n, c1 * grain);
      if (b < e) body(b, e);
    });
  }

 private:
  void worker_loop(size_t index) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = generation_.load(std::memory_order_acquire);
      uint32_t spins = 0;
      while (gen == seen) {
        if (++spins < spin_iterations_) {
          detail::cpu_relax();
        } else {
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          // Re-check after announcing ourselves, so a fork that raced with us is not missed:
          // std::atomic::wait returns at once when the value already differs.
          generation_.wait(seen, std::memory_order_seq_cst);
          sleepers_.fetch_sub(1, std::memory_order_acq_rel);
          spins = 0;
        }
        gen = generation_.load(std::memory_order_acquire);
      }
      seen = gen;
      if (stopping_.load(std::memory_order_relaxed)) return;
      job_fn_(job_ctx_, index, n_threads_);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  size_t n_threads_ = 1;
  uint32_t spin_iterations_;
  std::vector<std::thread> workers_;
  void* job_ctx_ = nullptr;
  void (*job_fn_)(void*, size_t, size_t) = nullptr;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<size_t> done_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace edgecloud::model
