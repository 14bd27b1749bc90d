// The NCCL communicator: the library answers without a GPU, no GPU is a clear error, and on the
// GPUs there are (world size 1 on a one-GPU machine) every collective matches the CPU
// communicator's definition. Skips where no GPU is visible (CI).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <thread>

#include "engine/parallel/nccl/nccl_communicator.h"
#include "kernels/cuda/device.h"
#include "tests/common/expect_error.h"

namespace moescope::parallel {
namespace {

TEST(Nccl, VersionWithoutAGpu) {
  EXPECT_EQ(nccl_version().rfind("2.", 0), 0u) << nccl_version();
}

TEST(Nccl, NoGpuIsAClearError) {
  if (kernels::cuda::device_count() > 0) GTEST_SKIP() << "a GPU is visible";
  test::expect_error([] { make_nccl_group(); }, {"NCCL group", "no CUDA device"});
}

TEST(Nccl, CollectivesOnTheVisibleGpus) {
  const int n = kernels::cuda::device_count();
  if (n == 0) GTEST_SKIP() << "no GPU";
  test::expect_error([&] { make_nccl_group({n}); }, {"device " + std::to_string(n)});
  auto group = make_nccl_group();
  ASSERT_EQ(int(group.size()), n);
  constexpr size_t kCount = 1000;
  std::vector<std::vector<float>> reduced(static_cast<size_t>(n)), gathered(static_cast<size_t>(n)),
      exchanged(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      Communicator& comm = *group[size_t(r)];
      cudaSetDevice(r);
      std::vector<float> mine(kCount);
      for (size_t i = 0; i < kCount; ++i) mine[i] = float(r + 1) + float(i) * 0.5f;
      float *d_data = nullptr, *d_all = nullptr, *d_recv = nullptr;
      cudaMalloc(&d_data, kCount * sizeof(float));
      cudaMalloc(&d_all, n * kCount * sizeof(float));
      cudaMalloc(&d_recv, n * kCount * sizeof(float));
      cudaMemcpy(d_data, mine.data(), kCount * sizeof(float), cudaMemcpyHostToDevice);
      comm.all_gather(d_data, d_all, kCount);
      comm.all_reduce_sum(d_data, kCount);
      // Every rank sends kCount values to every rank: the gathered blocks come back in order.
      const std::vector<size_t> counts(size_t(n), kCount);
      comm.all_to_all(d_all, counts, d_recv, counts);
      comm.barrier();
      reduced[size_t(r)].resize(kCount);
      gathered[size_t(r)].resize(n * kCount);
      exchanged[size_t(r)].resize(n * kCount);
      cudaMemcpy(reduced[size_t(r)].data(), d_data, kCount * sizeof(float), cudaMemcpyDeviceToHost);
      cudaMemcpy(gathered[size_t(r)].data(), d_all, n * kCount * 4, cudaMemcpyDeviceToHost);
      cudaMemcpy(exchanged[size_t(r)].data(), d_recv, n * kCount * 4, cudaMemcpyDeviceToHost);
      cudaFree(d_data);
      cudaFree(d_all);
      cudaFree(d_recv);
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r)
    for (size_t i = 0; i < kCount; ++i) {
      float sum = 0;
      for (int s = 0; s < n; ++s) sum += float(s + 1) + float(i) * 0.5f;
      EXPECT_FLOAT_EQ(reduced[size_t(r)][i], sum);
      for (int s = 0; s < n; ++s) {
        EXPECT_EQ(gathered[size_t(r)][size_t(s) * kCount + i], float(s + 1) + float(i) * 0.5f);
        // Block s of rank r's receive buffer is block r of rank s's gathered buffer.
        EXPECT_EQ(exchanged[size_t(r)][size_t(s) * kCount + i], float(r + 1) + float(i) * 0.5f);
      }
    }
}

}  // namespace
}  // namespace moescope::parallel
