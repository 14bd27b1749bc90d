// A fixed pool of worker threads for data-parallel loops in the CPU kernels.
//
// The calling thread takes part in every loop, so a pool of size 1 runs everything inline and
// creates no threads. Loops do not nest: parallel_for must not be called from inside a loop body.
// Waiting threads spin for ~50 us before they sleep, so back-to-back loops start in well under a
// microsecond (at the price of that much busy CPU after each loop). Chunks are claimed, not
// assigned: a worker that is descheduled (a shared machine with more runnable threads than
// cores) leaves its chunk to whoever is free, so a loop never waits milliseconds for a worker
// that has not started; it only waits for chunks already running.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace moescope::kernels {

class ThreadPool {
 public:
  // n_threads >= 1 (the caller counts as one). 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // The calling thread's index in the pool it works for: 0 for any thread outside a pool's
  // workers (the caller of parallel_for), 1 .. size() - 1 for workers. For trace lanes.
  static int current_thread();

  // Calls fn(begin, end) over a partition of [0, n) into at most size() contiguous chunks of at
  // least min_chunk items (the last may be shorter). Blocks until every chunk is done. The caller
  // takes chunks too, unless the workers have claimed them all first (timing decides which). An
  // exception from a chunk the caller runs is rethrown once the workers are done; one from a
  // worker's chunk ends the process (kernels do not throw). One loop at a time: not for
  // concurrent use from several threads.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                    int64_t min_chunk = 1);

 private:
  void worker_main(int index);
  // Claims and runs chunks of loop `generation` until none is left; returns how many it ran.
  // The first exception is stored in *error when error is not null (the caller); on a worker an
  // exception ends the process, as for any std::thread.
  int64_t run_chunks(uint64_t generation, std::exception_ptr* error);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // The current loop. Its fields are atomics because a worker that wakes late may read them
  // while the caller already writes the next loop's; such a worker's claim then fails (below)
  // and it never uses what it read.
  std::atomic<const std::function<void(int64_t, int64_t)>*> job_{nullptr};
  std::atomic<int64_t> job_n_{0};
  std::atomic<int64_t> job_chunk_{0};
  // generation (32 bits) | chunks (16) | next unclaimed chunk (16). A chunk is claimed by a
  // compare-exchange on the whole word, so a claim succeeds only while the loop whose fields the
  // claimer read is unfinished, and the fields cannot change before it is finished.
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> done_chunks_{0};  // chunks of the current loop finished (or skipped)
  std::atomic<int> sleepers_{0};         // workers blocked on wake_
  bool caller_sleeping_ = false;         // under mutex_
  bool stop_ = false;
};

// Runs fn over [0, n) on pool, or inline when pool is null.
void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                  int64_t min_chunk = 1);

}  // namespace moescope::kernels
