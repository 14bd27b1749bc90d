#include "engine/parallel/nccl/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <numeric>
#include <string>

#include "engine/core/error.h"

namespace moescope::parallel {

namespace {

void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) fail("NCCL ", what, ": ", ncclGetErrorString(r));
}

void check(cudaError_t r, const char* what) {
  if (r != cudaSuccess) fail("CUDA ", what, ": ", cudaGetErrorString(r));
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, int device, int rank, int size)
      : comm_(comm), device_(device), rank_(rank), size_(size) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "nccl"; }

  void all_reduce_sum(float* data, size_t count) override {
    run(ncclAllReduce(data, data, count, ncclFloat32, ncclSum, comm_, stream_), "all_reduce");
  }
  void all_gather(const float* send, float* recv, size_t count) override {
    run(ncclAllGather(send, recv, count, ncclFloat32, comm_, stream_), "all_gather");
  }
  void reduce_scatter_sum(const float* send, float* recv, size_t count) override {
    run(ncclReduceScatter(send, recv, count, ncclFloat32, ncclSum, comm_, stream_),
        "reduce_scatter");
  }
  void all_to_all(const float* send, const std::vector<size_t>& send_counts, float* recv,
                  const std::vector<size_t>& recv_counts) override {
    if (send_counts.size() != size_t(size_) || recv_counts.size() != size_t(size_))
      fail("all_to_all: ", send_counts.size(), " send and ", recv_counts.size(),
           " receive counts, expected one per rank (", size_, ")");
    check(cudaSetDevice(device_), "cudaSetDevice");
    // Uneven all-to-all as grouped point-to-point sends and receives (NCCL has no alltoallv).
    check(ncclGroupStart(), "group start");
    size_t out = 0, in = 0;
    for (int r = 0; r < size_; ++r) {
      if (send_counts[size_t(r)] > 0)
        check(ncclSend(send + out, send_counts[size_t(r)], ncclFloat32, r, comm_, stream_), "send");
      if (recv_counts[size_t(r)] > 0)
        check(ncclRecv(recv + in, recv_counts[size_t(r)], ncclFloat32, r, comm_, stream_), "recv");
      out += send_counts[size_t(r)];
      in += recv_counts[size_t(r)];
    }
    check(ncclGroupEnd(), "all_to_all");
    check(cudaStreamSynchronize(stream_), "all_to_all");
  }
  void broadcast(float* data, size_t count, int root) override {
    if (root < 0 || root >= size_)
      fail("broadcast: root ", root, " is not a rank of this group of ", size_);
    run(ncclBroadcast(data, data, count, ncclFloat32, root, comm_, stream_), "broadcast");
  }
  void barrier() override {
    // A one-value all-reduce: NCCL has no barrier of its own.
    float* one = nullptr;
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaMallocAsync(reinterpret_cast<void**>(&one), sizeof(float), stream_), "barrier");
    run(ncclAllReduce(one, one, 1, ncclFloat32, ncclSum, comm_, stream_), "barrier");
    cudaFreeAsync(one, stream_);
  }

 private:
  void run(ncclResult_t r, const char* what) {
    check(r, what);
    check(cudaStreamSynchronize(stream_), what);
  }

  ncclComm_t comm_;
  int device_, rank_, size_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::string nccl_version() {
  int v = 0;
  const ncclResult_t r = ncclGetVersion(&v);
  if (r != ncclSuccess) return std::string("unavailable: ") + ncclGetErrorString(r);
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

std::vector<std::unique_ptr<Communicator>> make_nccl_group(std::vector<int> devices) {
  int visible = 0;
  if (cudaGetDeviceCount(&visible) != cudaSuccess) visible = 0;
  if (visible == 0) fail("NCCL group: no CUDA device is visible (expected at least one GPU)");
  if (devices.empty()) {
    devices.resize(size_t(visible));
    std::iota(devices.begin(), devices.end(), 0);
  }
  for (int d : devices)
    if (d < 0 || d >= visible)
      fail("NCCL group: device ", d, " is not one of the ", visible, " visible GPUs");
  std::vector<ncclComm_t> comms(devices.size());
  check(ncclCommInitAll(comms.data(), int(devices.size()), devices.data()), "ncclCommInitAll");
  std::vector<std::unique_ptr<Communicator>> out;
  for (size_t r = 0; r < devices.size(); ++r)
    out.push_back(
        std::make_unique<NcclCommunicator>(comms[r], devices[r], int(r), int(devices.size())));
  return out;
}

}  // namespace moescope::parallel
