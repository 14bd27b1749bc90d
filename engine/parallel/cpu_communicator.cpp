#include "engine/parallel/cpu_communicator.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "engine/core/error.h"

namespace moescope::parallel {

namespace {

enum class Op { AllReduce, AllGather, ReduceScatter, AllToAll, Broadcast, Barrier };

const char* op_name(Op op) {
  switch (op) {
    case Op::AllReduce:
      return "all_reduce";
    case Op::AllGather:
      return "all_gather";
    case Op::ReduceScatter:
      return "reduce_scatter";
    case Op::AllToAll:
      return "all_to_all";
    case Op::Broadcast:
      return "broadcast";
    case Op::Barrier:
      return "barrier";
  }
  return "?";
}

// What one rank published for the collective in progress.
struct Slot {
  Op op = Op::Barrier;
  const float* send = nullptr;
  size_t count = 0;
  int root = 0;
  const std::vector<size_t>* send_counts = nullptr;  // all_to_all
  const std::vector<size_t>* recv_counts = nullptr;
};

}  // namespace

class CpuGroup {
 public:
  explicit CpuGroup(int n) : n_(n), slots_(size_t(n)) {}

  int size() const { return n_; }
  Slot& slot(int rank) { return slots_[size_t(rank)]; }
  const Slot& slot(int rank) const { return slots_[size_t(rank)]; }

  // Waits until every rank arrived. Throws when the group was aborted (a rank failed), so no
  // rank waits forever for one that will never come.
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (aborted_) fail("collective abandoned: another rank of the group failed");
    const uint64_t generation = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation || aborted_; });
    if (generation_ == generation) fail("collective abandoned: another rank of the group failed");
  }

  void abort() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
    cv_.notify_all();
  }

  // The same verdict on every rank (they all read the same slots after the first wait):
  // throws when the ranks did not call the same collective with matching sizes. A failing rank
  // waits until every rank has read the slots before it throws: unwinding frees what its own
  // slot points at (AddressSanitizer caught a rank reading another's freed counts).
  void check_matching(Op op) {
    std::string verdict;
    try {
      verify(op);
    } catch (const Error& e) {
      verdict = e.what();
    }
    if (verdict.empty()) return;
    wait();  // every rank reaches it: they all reach the same verdict
    throw Error(verdict);
  }

 private:
  void verify(Op op) const {
    const Slot& first = slots_[0];
    for (int r = 1; r < n_; ++r)
      if (slots_[size_t(r)].op != first.op)
        fail("collective mismatch: rank 0 called ", op_name(first.op), ", rank ", r, " called ",
             op_name(slots_[size_t(r)].op),
             " (every rank must call the same collectives in the same order)");
    for (int r = 0; r < n_; ++r) {
      const Slot& s = slots_[size_t(r)];
      if (op != Op::AllToAll && s.count != first.count)
        fail(op_name(op), ": rank 0 passed ", first.count, " values, rank ", r, " passed ", s.count,
             " (every rank must pass the same count)");
      if (op == Op::Broadcast && s.root != first.root)
        fail("broadcast: rank 0 names root ", first.root, ", rank ", r, " names root ", s.root);
    }
    if (op == Op::AllToAll) {
      for (int s = 0; s < n_; ++s) {
        const Slot& src = slots_[size_t(s)];
        if (src.send_counts->size() != size_t(n_) || src.recv_counts->size() != size_t(n_))
          fail("all_to_all: rank ", s, " passed ", src.send_counts->size(), " send and ",
               src.recv_counts->size(), " receive counts, expected one per rank (", n_, ")");
      }
      for (int s = 0; s < n_; ++s)
        for (int r = 0; r < n_; ++r) {
          const size_t sent = (*slots_[size_t(s)].send_counts)[size_t(r)];
          const size_t expected = (*slots_[size_t(r)].recv_counts)[size_t(s)];
          if (sent != expected)
            fail("all_to_all: rank ", s, " sends ", sent, " values to rank ", r, ", which expects ",
                 expected, " from it");
        }
    }
  }

  const int n_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
};

CpuCommunicator::CpuCommunicator(std::shared_ptr<CpuGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {}

int CpuCommunicator::size() const {
  return group_->size();
}

void CpuCommunicator::all_reduce_sum(float* data, size_t count) {
  group_->slot(rank_) = Slot{Op::AllReduce, data, count};
  group_->wait();
  group_->check_matching(Op::AllReduce);
  // Every rank sums all ranks' values in rank order: identical results everywhere.
  scratch_.assign(group_->slot(0).send, group_->slot(0).send + count);
  for (int r = 1; r < size(); ++r) {
    const float* src = group_->slot(r).send;
    for (size_t i = 0; i < count; ++i) scratch_[i] += src[i];
  }
  group_->wait();  // nobody reads data any more: it may be overwritten
  std::memcpy(data, scratch_.data(), count * sizeof(float));
}

void CpuCommunicator::all_gather(const float* send, float* recv, size_t count) {
  group_->slot(rank_) = Slot{Op::AllGather, send, count};
  group_->wait();
  group_->check_matching(Op::AllGather);
  for (int r = 0; r < size(); ++r)
    std::memcpy(recv + size_t(r) * count, group_->slot(r).send, count * sizeof(float));
  group_->wait();
}

void CpuCommunicator::reduce_scatter_sum(const float* send, float* recv, size_t count) {
  group_->slot(rank_) = Slot{Op::ReduceScatter, send, count};
  group_->wait();
  group_->check_matching(Op::ReduceScatter);
  const size_t at = size_t(rank_) * count;
  std::memcpy(recv, group_->slot(0).send + at, count * sizeof(float));
  for (int r = 1; r < size(); ++r) {
    const float* src = group_->slot(r).send + at;
    for (size_t i = 0; i < count; ++i) recv[i] += src[i];
  }
  group_->wait();
}

void CpuCommunicator::all_to_all(const float* send, const std::vector<size_t>& send_counts,
                                 float* recv, const std::vector<size_t>& recv_counts) {
  Slot s{Op::AllToAll, send, 0};
  s.send_counts = &send_counts;
  s.recv_counts = &recv_counts;
  group_->slot(rank_) = s;
  group_->wait();
  group_->check_matching(Op::AllToAll);
  size_t out = 0;
  for (int src = 0; src < size(); ++src) {
    const Slot& from = group_->slot(src);
    size_t offset = 0;  // where the block for this rank starts in src's send buffer
    for (int r = 0; r < rank_; ++r) offset += (*from.send_counts)[size_t(r)];
    const size_t n = (*from.send_counts)[size_t(rank_)];
    std::memcpy(recv + out, from.send + offset, n * sizeof(float));
    out += n;
  }
  group_->wait();
}

void CpuCommunicator::broadcast(float* data, size_t count, int root) {
  if (root < 0 || root >= size())
    fail("broadcast: root ", root, " is not a rank of this group of ", size());
  Slot s{Op::Broadcast, data, count};
  s.root = root;
  group_->slot(rank_) = s;
  group_->wait();
  group_->check_matching(Op::Broadcast);
  if (rank_ != root) std::memcpy(data, group_->slot(root).send, count * sizeof(float));
  group_->wait();
}

void CpuCommunicator::barrier() {
  group_->slot(rank_) = Slot{Op::Barrier, nullptr, 0};
  group_->wait();
  group_->check_matching(Op::Barrier);
  group_->wait();
}

void CpuCommunicator::abort_group() {
  group_->abort();
}

std::vector<std::unique_ptr<CpuCommunicator>> make_cpu_group(int n) {
  if (n < 1) fail("a rank group needs at least one rank (got ", n, ")");
  auto group = std::make_shared<CpuGroup>(n);
  std::vector<std::unique_ptr<CpuCommunicator>> out;
  for (int r = 0; r < n; ++r) out.push_back(std::make_unique<CpuCommunicator>(group, r));
  return out;
}

void run_ranks(int n, const std::function<void(Communicator&)>& fn) {
  run_ranks(make_cpu_group(n), fn);
}

void run_threads(int n, const std::function<void(int)>& body,
                 const std::function<void(int)>& on_failure) {
  std::exception_ptr first;
  std::mutex first_mutex;
  std::vector<std::thread> threads;
  threads.reserve(size_t(n));
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (...) {
        {
          std::lock_guard<std::mutex> lock(first_mutex);
          if (!first) first = std::current_exception();
        }
        on_failure(r);
      }
    });
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

void run_ranks(const std::vector<std::unique_ptr<CpuCommunicator>>& comms,
               const std::function<void(Communicator&)>& fn) {
  run_threads(
      int(comms.size()), [&](int r) { fn(*comms[size_t(r)]); },
      [&](int r) { comms[size_t(r)]->abort_group(); });
}

}  // namespace moescope::parallel
