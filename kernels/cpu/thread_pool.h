// A fixed pool of worker threads for data-parallel loops in the CPU kernels.
//
// The calling thread takes part in every loop, so a pool of size 1 runs everything inline and
// creates no threads. Loops do not nest: parallel_for must not be called from inside a loop body.
// Waiting threads spin for ~50 us before they sleep, so back-to-back loops start in well under a
// microsecond (at the price of that much busy CPU after each loop).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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

  // Calls fn(begin, end) over a partition of [0, n) into at most size() contiguous chunks of at
  // least min_chunk items (the last may be shorter). Blocks until every chunk is done. The caller
  // runs the first chunk. An exception from the caller's chunk is rethrown once the workers are
  // done; one from a worker's chunk ends the process (kernels do not throw). One loop at a time:
  // not for concurrent use from several threads.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                    int64_t min_chunk = 1);

 private:
  void worker_main(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // The current loop; written under mutex_ before generation_ is bumped.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
  int job_parts_ = 0;
  // Atomic so that workers and the caller can spin on them briefly before sleeping on the
  // condition variables (a futex wake costs several microseconds per loop).
  std::atomic<uint64_t> generation_{0};  // loops started so far
  std::atomic<int> pending_{0};          // worker chunks of the current loop not yet done
  bool stop_ = false;
};

// Runs fn over [0, n) on pool, or inline when pool is null.
void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                  int64_t min_chunk = 1);

}  // namespace moescope::kernels
