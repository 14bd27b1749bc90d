// CUDA kernels against the CPU references. Skipped where no device is present (CI, the
// development machines); run on a lent GPU machine.
#include <gtest/gtest.h>

#include <random>

#include "kernels/cpu/reference/reference.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/rmsnorm.h"
#include "tests/common/tolerance.h"

namespace moescope {
namespace {

TEST(CudaDevice, CountNeverFails) {
  // No driver or no GPU must read as zero devices, never as a crash or an exception.
  const int n = kernels::cuda::device_count();
  EXPECT_GE(n, 0);
  if (n > 0) {
    EXPECT_FALSE(kernels::cuda::device_description(0).empty());
  }
}

TEST(CudaRmsnorm, MatchesTheCpuReference) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int64_t d : {1, 7, 256, 1000, 6144}) {
    const int64_t t = 5;
    std::vector<float> x(static_cast<size_t>(t * d)), w(static_cast<size_t>(d));
    std::vector<float> got(x.size()), want(x.size());
    for (float& v : x) v = normal(rng);
    for (float& v : w) v = 1.0f + 0.1f * normal(rng);
    ASSERT_EQ(kernels::cuda::rmsnorm_f32_host(x.data(), w.data(), 1e-5f, t, d, got.data()), "");
    kernels::ref::rmsnorm_ref(x.data(), w.data(), 1e-5f, t, d, want.data());
    EXPECT_TRUE(test::all_close(got.data(), want.data(), got.size(),
                                test::tolerance_for(kernels::DType::F32, test::Level::Kernel),
                                "rmsnorm d=" + std::to_string(d)));
  }
}

}  // namespace
}  // namespace moescope
