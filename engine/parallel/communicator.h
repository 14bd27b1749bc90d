// Collective communication between the ranks of one sharded model (DESIGN.md: tensor and expert
// parallelism). One interface, two implementations: the in-process CPU communicator
// (cpu_communicator.h: threads as ranks, so CI tests the sharded math without GPUs) and NCCL over
// the visible GPUs (with the CUDA backend).
//
// Every rank of the group calls the same collective in the same order with matching sizes (as
// with NCCL); a mismatch is detected by every rank alike and throws moescope::Error on all of
// them, never a hang. Sums run in rank order 0..N-1 on every rank, so all ranks hold bitwise
// identical results (a sharded greedy decode must not diverge between ranks).
#pragma once

#include <cstddef>
#include <vector>

namespace moescope::parallel {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* backend() const = 0;  // "cpu" or "nccl"

  // data[count] becomes the element-wise sum over ranks (in place).
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  // recv[size * count] = the send[count] of ranks 0, 1, ... in order.
  virtual void all_gather(const float* send, float* recv, size_t count) = 0;
  // send[size * count] holds one block per rank; recv[count] = sum over ranks of their block
  // number rank().
  virtual void reduce_scatter_sum(const float* send, float* recv, size_t count) = 0;
  // Uneven all-to-all: send holds consecutive blocks of send_counts[r] floats for ranks
  // r = 0..size-1; recv receives consecutive blocks of recv_counts[s] floats from ranks s.
  // send_counts of rank s entry r must equal recv_counts of rank r entry s.
  virtual void all_to_all(const float* send, const std::vector<size_t>& send_counts, float* recv,
                          const std::vector<size_t>& recv_counts) = 0;
  // data[count] of root is copied to every rank.
  virtual void broadcast(float* data, size_t count, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace moescope::parallel
