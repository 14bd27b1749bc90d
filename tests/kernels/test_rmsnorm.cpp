// rmsnorm and rmsnorm_add against their references over odd and Grok-sized rows, in place, and
// against hand-computed values that pin eps inside the sqrt and the weight used as-is.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/reference/reference.h"
#include "kernels/cpu/rmsnorm.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

struct Shape {
  int64_t t, d;
};
const Shape kShapes[] = {{1, 1}, {1, 7}, {3, 64}, {2, 1023}, {5, 6144}, {1, 8192}};

TEST(RmsNorm, MatchesReference) {
  uint32_t seed = 1;
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(testing::Message() << "T=" << s.t << " D=" << s.d);
    // Rows of very different magnitude: the normalisation must remove it.
    std::vector<float> x = test::random_floats(size_t(s.t * s.d), seed++, -3.0f, 3.0f);
    for (int64_t r = 0; r < s.t; ++r)
      for (int64_t i = 0; i < s.d; ++i) x[size_t(r * s.d + i)] *= std::pow(10.0f, float(r) - 2);
    const std::vector<float> w = test::random_floats(size_t(s.d), seed++, 0.5f, 1.5f);
    std::vector<float> got(x.size()), want(x.size());
    rmsnorm(x.data(), w.data(), 1e-5f, s.t, s.d, got.data());
    ref::rmsnorm_ref(x.data(), w.data(), 1e-5f, s.t, s.d, want.data());
    EXPECT_TRUE(all_close(got.data(), want.data(), got.size(),
                          tolerance_for(DType::F32, Level::Kernel), "rmsnorm"));
    // In place (y aliases x).
    std::vector<float> inplace = x;
    rmsnorm(inplace.data(), w.data(), 1e-5f, s.t, s.d, inplace.data());
    EXPECT_TRUE(all_close(inplace.data(), want.data(), want.size(),
                          tolerance_for(DType::F32, Level::Kernel), "rmsnorm in place"));
    std::vector<float> ref_inplace = x;
    ref::rmsnorm_ref(ref_inplace.data(), w.data(), 1e-5f, s.t, s.d, ref_inplace.data());
    EXPECT_TRUE(all_close(ref_inplace.data(), want.data(), want.size(),
                          tolerance_for(DType::F32, Level::Kernel), "rmsnorm_ref in place"));
  }
}

TEST(RmsNormAdd, MatchesReference) {
  uint32_t seed = 50;
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(testing::Message() << "T=" << s.t << " D=" << s.d);
    const std::vector<float> x = test::random_floats(size_t(s.t * s.d), seed++, -5.0f, 5.0f);
    const std::vector<float> w = test::random_floats(size_t(s.d), seed++, -2.0f, 2.0f);
    std::vector<float> got = test::random_floats(x.size(), seed++, -1.0f, 1.0f);
    std::vector<float> want = got;
    const std::vector<float> x_before = x;
    rmsnorm_add(x.data(), w.data(), 1e-5f, s.t, s.d, got.data());
    ref::rmsnorm_add_ref(x.data(), w.data(), 1e-5f, s.t, s.d, want.data());
    EXPECT_TRUE(all_close(got.data(), want.data(), got.size(),
                          tolerance_for(DType::F32, Level::Kernel), "rmsnorm_add"));
    EXPECT_EQ(x, x_before);
  }
}

// x = [3, 4], w = [1, 2], eps = 0: mean(x^2) = 12.5, y = w * x / sqrt(12.5).
// x = [1e-3, 1e-3], w = [1, 1], eps = 1e-5: y = 1e-3 / sqrt(1e-6 + 1e-5) = 0.3015113; eps outside
// the sqrt would give 0.990, and a (1 + w) weight would double it.
TEST(RmsNorm, HandComputed) {
  const float x1[2] = {3, 4}, w1[2] = {1, 2};
  float y[2];
  using Norm = void (*)(const float*, const float*, float, int64_t, int64_t, float*);
  const Norm fast = [](const float* x, const float* w, float eps, int64_t t, int64_t d, float* y) {
    rmsnorm(x, w, eps, t, d, y);
  };
  for (Norm fn : {fast, Norm(&ref::rmsnorm_ref)}) {
    fn(x1, w1, 0.0f, 1, 2, y);
    EXPECT_NEAR(y[0], 3.0 / std::sqrt(12.5), 1e-6);
    EXPECT_NEAR(y[1], 8.0 / std::sqrt(12.5), 1e-6);
    const float x2[2] = {1e-3f, 1e-3f}, w2[2] = {1, 1};
    fn(x2, w2, 1e-5f, 1, 2, y);
    EXPECT_NEAR(y[0], 1e-3 / std::sqrt(1.1e-5), 1e-6);
  }
  float h[2] = {10, 20};
  rmsnorm_add(x1, w1, 0.0f, 1, 2, h);
  EXPECT_NEAR(h[0], 10 + 3.0 / std::sqrt(12.5), 1e-5);
  EXPECT_NEAR(h[1], 20 + 8.0 / std::sqrt(12.5), 1e-5);
}

// Shared out over a pool (many rows), both norms give each row exactly what one thread gives it:
// a row's arithmetic does not depend on the split.
TEST(RmsNorm, PoolGivesTheSameRows) {
  const int64_t t = 67, d = 1024;  // 67 rows: uneven shares on 2 and 3 threads
  const std::vector<float> x = test::random_floats(size_t(t * d), 70, -4.0f, 4.0f);
  const std::vector<float> w = test::random_floats(size_t(d), 71, 0.5f, 1.5f);
  const std::vector<float> h0 = test::random_floats(x.size(), 72, -1.0f, 1.0f);
  std::vector<float> want(x.size()), want_add = h0;
  rmsnorm(x.data(), w.data(), 1e-5f, t, d, want.data());
  rmsnorm_add(x.data(), w.data(), 1e-5f, t, d, want_add.data());
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(testing::Message() << threads << " threads");
    ThreadPool pool(threads);
    std::vector<float> got(x.size()), got_add = h0;
    rmsnorm(x.data(), w.data(), 1e-5f, t, d, got.data(), &pool);
    rmsnorm_add(x.data(), w.data(), 1e-5f, t, d, got_add.data(), &pool);
    EXPECT_EQ(got, want);
    EXPECT_EQ(got_add, want_add);
  }
}

}  // namespace
}  // namespace moescope::kernels
