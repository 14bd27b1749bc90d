// ThreadPool: a fixed set of workers that split one loop at a time with the calling thread.
//
// One loop is one "generation": parallel_for publishes the loop under the mutex, bumps
// generation_, wakes the workers and runs chunk 0 itself; worker i runs chunk i. The caller
// returns once every participating worker has reported back, so the loop body (owned by the
// caller's stack) is never touched after parallel_for returns. Workers without a chunk in a
// generation just note it, so a worker never runs a stale job.
//
// Waiting is spin-then-sleep on both sides: kernels call parallel_for back to back (a decode
// step is hundreds of loops of tens of microseconds), and a worker that is still spinning picks
// up the next loop in well under a microsecond instead of paying a futex wake.
#include "kernels/cpu/thread_pool.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <exception>

namespace moescope::kernels {

namespace {

// How long a thread spins on a condition before it sleeps.
constexpr std::chrono::microseconds kSpin{50};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or kSpin has passed; returns done().
template <class Pred>
bool spin_until(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    // Reading the clock costs ~20 ns: only every 64 spins.
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

// Set while the current thread runs a loop body; a nested parallel_for would deadlock (the
// workers are busy with the outer loop), so it is caught by an assert instead.
thread_local bool t_in_loop = false;

struct LoopGuard {
  LoopGuard() {
    assert(!t_in_loop && "ThreadPool::parallel_for does not nest");
    t_in_loop = true;
  }
  ~LoopGuard() { t_in_loop = false; }
};

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  // The caller is thread 0; workers are 1 .. n_threads-1.
  workers_.reserve(size_t(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(1, min_chunk);
  // As many chunks as threads, but none smaller than min_chunk; then even out the chunk size so
  // that the last chunk is the only short one.
  int64_t parts = std::min<int64_t>(n_threads_, (n + min_chunk - 1) / min_chunk);
  int64_t chunk = std::max(min_chunk, (n + parts - 1) / parts);
  parts = (n + chunk - 1) / chunk;
  if (parts <= 1) {
    LoopGuard guard;
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_chunk_ = chunk;
    job_parts_ = int(parts);
    pending_.store(int(parts) - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  // If the caller's chunk throws, the workers still hold &fn: wait for them before unwinding.
  // (A throw inside a worker ends the process, as for any std::thread.)
  std::exception_ptr error;
  try {
    LoopGuard guard;
    fn(0, std::min(n, chunk));
  } catch (...) {
    error = std::current_exception();
  }
  auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, all_done);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker_main(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto new_loop = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t begin = 0, end = 0;
    spin_until(new_loop);
    {
      // The job fields are read under the mutex: when this worker has no chunk, the caller may
      // already be writing the next loop's fields.
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || new_loop(); });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      if (index >= job_parts_) continue;  // no chunk for this worker in this loop
      fn = job_;
      begin = int64_t(index) * job_chunk_;
      end = std::min(job_n_, begin + job_chunk_);
    }
    {
      LoopGuard guard;
      (*fn)(begin, end);
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Taking the mutex orders this notify after the caller's predicate check, if it sleeps.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                  int64_t min_chunk) {
  if (n <= 0) return;
  if (pool) {
    pool->parallel_for(n, fn, min_chunk);
    return;
  }
  LoopGuard guard;
  fn(0, n);
}

}  // namespace moescope::kernels
