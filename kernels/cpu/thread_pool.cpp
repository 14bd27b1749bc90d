// ThreadPool: a fixed set of workers that split one loop at a time with the calling thread.
//
// One loop is one "generation": parallel_for writes the loop's fields, publishes a new state_
// word (generation, chunk count, next chunk = 0), wakes sleeping workers and starts claiming
// chunks itself, as every awake worker does. Claims are compare-exchanges on state_, so each
// chunk runs exactly once, on whichever thread is free first: a descheduled worker delays the
// loop by at most the chunk it is already running, never by its wake-up. The caller returns
// once every chunk has finished, so the loop body (owned by the caller's stack) is never touched
// after parallel_for returns.
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

// The fields of state_.
inline uint64_t generation_of(uint64_t s) {
  return s >> 32;
}
inline int64_t parts_of(uint64_t s) {
  return int64_t((s >> 16) & 0xFFFF);
}
inline int64_t next_of(uint64_t s) {
  return int64_t(s & 0xFFFF);
}

// Set while the current thread runs a loop body; a nested parallel_for would deadlock (the
// workers are busy with the outer loop), so it is caught by an assert instead.
thread_local bool t_in_loop = false;
thread_local int t_worker_index = 0;  // 0: not a worker

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
  assert(n_threads < 0xFFFF && "chunk indices are 16 bits");
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

int64_t ThreadPool::run_chunks(uint64_t generation, std::exception_ptr* error) {
  int64_t ran = 0;
  uint64_t s = state_.load(std::memory_order_acquire);
  if (generation_of(s) != generation) return 0;
  const auto* fn = job_.load(std::memory_order_relaxed);
  const int64_t n = job_n_.load(std::memory_order_relaxed);
  const int64_t chunk = job_chunk_.load(std::memory_order_relaxed);
  for (;;) {
    if (generation_of(s) != generation || next_of(s) >= parts_of(s)) return ran;
    if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;  // s now holds the current word
    const int64_t c = next_of(s);
    const int64_t begin = c * chunk, end = std::min(n, begin + chunk);
    if (error) {
      // The caller keeps going after an exception (the loop's other chunks still run, as
      // callers expect every chunk done), and rethrows the first one at the end.
      try {
        LoopGuard guard;
        (*fn)(begin, end);
      } catch (...) {
        if (!*error) *error = std::current_exception();
      }
    } else {
      LoopGuard guard;
      (*fn)(begin, end);
    }
    ++ran;
    const int64_t parts = parts_of(s);
    if (done_chunks_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts && !error) {
      // The last chunk, finished on a worker: wake the caller if it sleeps. Taking the mutex
      // orders this notify after the caller's predicate check.
      std::lock_guard<std::mutex> lock(mutex_);
      if (caller_sleeping_) done_.notify_one();
    }
    s = state_.load(std::memory_order_acquire);
  }
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
  assert(!t_in_loop && "ThreadPool::parallel_for does not nest");
  // The previous loop is finished (every chunk claimed and done), so no claim can succeed until
  // the new state is published: the fields may be rewritten first.
  job_.store(&fn, std::memory_order_relaxed);
  job_n_.store(n, std::memory_order_relaxed);
  job_chunk_.store(chunk, std::memory_order_relaxed);
  done_chunks_.store(0, std::memory_order_relaxed);
  const uint64_t generation = generation_of(state_.load(std::memory_order_relaxed)) + 1;
  // seq_cst store and load, paired with the sleeper's increment and check: one of the two sees
  // the other, so a worker going to sleep now is woken (a missed wake-up would only cost
  // parallelism: the caller claims whatever no worker does).
  state_.store((generation << 32) | (uint64_t(parts) << 16));
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);  // orders the notify after a sleeper's check
    wake_.notify_all();
  }
  std::exception_ptr error;
  run_chunks(generation, &error);
  // Only chunks that workers are running now are left.
  auto all_done = [&] { return done_chunks_.load(std::memory_order_acquire) == parts; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_ = true;
    done_.wait(lock, all_done);
    caller_sleeping_ = false;
  }
  if (error) std::rethrow_exception(error);
}

int ThreadPool::current_thread() {
  return t_worker_index;
}

void ThreadPool::worker_main(int index) {
  t_worker_index = index;
  uint64_t seen = 0;  // the last generation this worker looked at
  for (;;) {
    auto new_loop = [&] { return generation_of(state_.load(std::memory_order_acquire)) != seen; };
    if (!spin_until(new_loop)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return stop_ || new_loop(); });
      sleepers_.fetch_sub(1, std::memory_order_acq_rel);
      if (stop_) return;
    }
    seen = generation_of(state_.load(std::memory_order_acquire));
    run_chunks(seen, nullptr);
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
