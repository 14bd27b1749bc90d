// The in-process CPU communicator: N threads are the N ranks of a group and exchange data
// through shared memory. Each collective publishes the rank's pointers and sizes, meets the
// others at a barrier, reads what it needs straight from the other ranks' buffers, and meets
// them again before any buffer may change. Used for sharded runs on the CPU and to test the
// sharded math in CI; the NCCL communicator has the same interface.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "engine/parallel/communicator.h"

namespace moescope::parallel {

class CpuGroup;

class CpuCommunicator final : public Communicator {
 public:
  CpuCommunicator(std::shared_ptr<CpuGroup> group, int rank);

  int rank() const override { return rank_; }
  int size() const override;
  const char* backend() const override { return "cpu"; }
  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* send, float* recv, size_t count) override;
  void reduce_scatter_sum(const float* send, float* recv, size_t count) override;
  void all_to_all(const float* send, const std::vector<size_t>& send_counts, float* recv,
                  const std::vector<size_t>& recv_counts) override;
  void broadcast(float* data, size_t count, int root) override;
  void barrier() override;
  // Ends the group: ranks waiting in a collective (now or later) throw instead of waiting for
  // a rank that failed.
  void abort_group();

 private:
  std::shared_ptr<CpuGroup> group_;
  int rank_;
  std::vector<float> scratch_;  // all-reduce partial sums
};

// A group of n ranks, one communicator per rank (index = rank).
std::vector<std::unique_ptr<CpuCommunicator>> make_cpu_group(int n);

// Runs fn(comm) on n threads, one per rank, and waits for them. When a rank throws, the group is
// aborted (ranks waiting in a collective throw too, instead of waiting forever) and the first
// exception is rethrown here.
void run_ranks(int n, const std::function<void(Communicator&)>& fn);
// body(r) on n threads, r = 0..n-1, and waits for them. When one throws, on_failure(r) runs on
// its thread at once (to abort the groups the others may be waiting in), and the first exception
// is rethrown here after every thread has ended.
void run_threads(int n, const std::function<void(int)>& body,
                 const std::function<void(int)>& on_failure);
// The same over an existing group (which is aborted for good when a rank throws).
void run_ranks(const std::vector<std::unique_ptr<CpuCommunicator>>& group,
               const std::function<void(Communicator&)>& fn);

}  // namespace moescope::parallel
