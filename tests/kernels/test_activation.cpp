// Activations against the double-precision formulas over small, moderate and huge |x|; the two
// GELU forms against each other (grok-architecture.md 9.3: they differ by at most ~4.7e-4); and
// gated_activation against its reference, including in place.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/reference/reference.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

// n evenly spaced values in [lo, hi].
std::vector<float> grid(float lo, float hi, int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[size_t(i)] = lo + (hi - lo) * float(i) / float(n - 1);
  return v;
}

struct Fn {
  const char* name;
  float (*kernel)(float);
  double (*reference)(double);
};
const Fn kFns[] = {{"gelu_tanh", gelu_tanh, ref::gelu_tanh_ref},
                   {"gelu_erf", gelu_erf, ref::gelu_erf_ref},
                   {"silu", silu, ref::silu_ref}};

TEST(Activation, MatchesDoubleFormulas) {
  // Each range is compared on its own, since the tolerance is relative to the range's largest
  // value. The grids are offset so that x = 0 exactly is not the only small value.
  const std::vector<std::vector<float>> ranges = {
      grid(-1.0f, 1.0f, 2001) /* around 0 */,
      grid(-10.0f, 10.0f, 4001),
      grid(-100.0f, -10.0f, 901) /* the vanishing tail */,
      grid(10.0f, 1e4f, 999),
      {-1e30f, -1e10f, -3e3f, 3e3f, 1e10f, 1e30f},
      test::random_floats(1001, 3, -6.0f, 6.0f)};
  for (const Fn& f : kFns)
    for (size_t r = 0; r < ranges.size(); ++r) {
      const std::vector<float>& x = ranges[r];
      std::vector<float> got(x.size()), want(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        got[i] = f.kernel(x[i]);
        want[i] = float(f.reference(x[i]));
      }
      EXPECT_TRUE(all_close(got.data(), want.data(), x.size(),
                            tolerance_for(DType::F32, Level::Kernel),
                            std::string(f.name) + " range " + std::to_string(r)));
    }
}

TEST(Activation, HugeInputsStayFinite) {
  for (const Fn& f : kFns) {
    EXPECT_EQ(f.kernel(1e30f), 1e30f) << f.name;
    EXPECT_EQ(f.kernel(-1e30f), 0.0f) << f.name;
    EXPECT_FALSE(std::isnan(f.kernel(-50.0f))) << f.name;
  }
  EXPECT_EQ(gelu_tanh(0.0f), 0.0f);
  EXPECT_NEAR(gelu_tanh(1.0f), 0.8411919906, 1e-7);  // 0.5 (1 + tanh(sqrt(2/pi) 1.044715))
  EXPECT_NEAR(gelu_erf(1.0f), 0.8413447461, 1e-7);   // Phi(1)
  EXPECT_NEAR(silu(1.0f), 0.7310585786, 1e-7);       // 1 / (1 + e^-1)
}

// grok-architecture.md 9.3: |gelu_tanh - gelu_erf| <= ~4.7e-4, largest near x = -2.70.
TEST(Activation, GeluFormsDifferByAtMost4p8em4) {
  double max_diff_ref = 0, max_diff = 0, arg_max = 0;
  for (float x : grid(-12.0f, 12.0f, 240001)) {
    const double d = std::fabs(ref::gelu_tanh_ref(x) - ref::gelu_erf_ref(x));
    if (d > max_diff_ref) max_diff_ref = d, arg_max = x;
    max_diff = std::max(max_diff, std::fabs(double(gelu_tanh(x)) - double(gelu_erf(x))));
  }
  EXPECT_LE(max_diff_ref, 4.8e-4);
  EXPECT_GE(max_diff_ref, 4.6e-4);  // the two forms really are different
  EXPECT_NEAR(arg_max, -2.70, 0.05);
  EXPECT_LE(max_diff, 4.8e-4);
}

TEST(GatedActivation, MatchesReferenceAndAliases) {
  for (Activation act : {Activation::GeluTanh, Activation::GeluErf, Activation::Silu}) {
    for (int64_t n : {1, 7, 1001, 32768}) {
      SCOPED_TRACE(testing::Message() << activation_name(act) << " n=" << n);
      const std::vector<float> gate = test::random_floats(size_t(n), uint32_t(n), -8.0f, 8.0f);
      const std::vector<float> up = test::random_floats(size_t(n), uint32_t(n) + 1, -3.0f, 3.0f);
      std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
      gated_activation(gate.data(), up.data(), n, act, got.data());
      ref::gated_activation_ref(gate.data(), up.data(), n, act, want.data());
      const auto tol = tolerance_for(DType::F32, Level::Kernel);
      EXPECT_TRUE(all_close(got.data(), want.data(), size_t(n), tol, "gated_activation"));
      std::vector<float> in_gate = gate, in_up = up;
      gated_activation(in_gate.data(), up.data(), n, act, in_gate.data());
      gated_activation(gate.data(), in_up.data(), n, act, in_up.data());
      EXPECT_EQ(in_gate, got);
      EXPECT_EQ(in_up, got);
    }
  }
  EXPECT_STREQ(activation_name(Activation::GeluTanh), "gelu_tanh");
  EXPECT_STREQ(activation_name(Activation::GeluErf), "gelu_erf");
  EXPECT_STREQ(activation_name(Activation::Silu), "silu");
}

// Shared out over a pool, gated_activation gives exactly what one thread gives, in place too:
// the pool's shares are whole vectors, so no element falls to the scalar tail on one split and
// to the vector code on another. n = 2^16 + 5 takes the pool (at least 2 x 16384 elements) and
// ends in a ragged tail.
TEST(GatedActivation, PoolGivesTheSameElements) {
  const int64_t n = 65541;
  const std::vector<float> gate = test::random_floats(size_t(n), 80, -8.0f, 8.0f);
  const std::vector<float> up = test::random_floats(size_t(n), 81, -3.0f, 3.0f);
  for (Activation act : {Activation::GeluTanh, Activation::GeluErf, Activation::Silu}) {
    std::vector<float> want(static_cast<size_t>(n));
    gated_activation(gate.data(), up.data(), n, act, want.data());
    for (int threads : {2, 3}) {
      SCOPED_TRACE(testing::Message() << activation_name(act) << ", " << threads << " threads");
      ThreadPool pool(threads);
      std::vector<float> got(static_cast<size_t>(n)), in_place = gate;
      gated_activation(gate.data(), up.data(), n, act, got.data(), &pool);
      gated_activation(in_place.data(), up.data(), n, act, in_place.data(), &pool);
      EXPECT_EQ(got, want);
      EXPECT_EQ(in_place, want);
    }
  }
}

}  // namespace
}  // namespace moescope::kernels
