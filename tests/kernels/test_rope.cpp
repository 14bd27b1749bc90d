// rope_neox against rope_neox_ref for Grok-1 and Grok-2 bases, contiguous and scattered
// positions (decode {0}, {5, 6, 7}, long-context 100000+), and hand-computed rotations that pin
// the half-split layout.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/reference/reference.h"
#include "kernels/cpu/rope.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

void check(const std::vector<int64_t>& positions, int64_t h, int64_t dh, double theta,
           uint32_t seed) {
  const int64_t t = int64_t(positions.size());
  SCOPED_TRACE(testing::Message() << "T=" << t << " H=" << h << " Dh=" << dh << " theta=" << theta
                                  << " first position " << positions[0]);
  std::vector<float> got = test::random_floats(size_t(t * h * dh), seed);
  std::vector<float> want = got;
  rope_neox(got.data(), t, h, dh, positions.data(), theta);
  ref::rope_neox_ref(want.data(), t, h, dh, positions.data(), theta);
  EXPECT_TRUE(all_close(got.data(), want.data(), got.size(),
                        tolerance_for(DType::F32, Level::Kernel), "rope_neox"));
}

TEST(Rope, MatchesReference) {
  const std::vector<std::vector<int64_t>> position_sets = {
      {0}, {5, 6, 7}, {9, 2, 5, 0}, {100000}, {100000, 100001, 131071}, {8191, 8192, 77777}};
  uint32_t seed = 1;
  for (double theta : {10000.0, 208533496.0})
    for (const auto& pos : position_sets)
      for (auto [h, dh] : {std::pair<int64_t, int64_t>{1, 2}, {3, 6}, {2, 128}, {8, 128}})
        check(pos, h, dh, theta, seed++);
}

// Each token uses its own position: rotating tokens together equals rotating each alone.
TEST(Rope, TokensAreIndependent) {
  const std::vector<int64_t> pos = {5, 100000, 2};
  std::vector<float> all = test::random_floats(3 * 2 * 16, 7);
  std::vector<float> one_by_one = all;
  rope_neox(all.data(), 3, 2, 16, pos.data(), 208533496.0);
  for (int64_t tok = 0; tok < 3; ++tok)
    rope_neox(one_by_one.data() + tok * 32, 1, 2, 16, &pos[size_t(tok)], 208533496.0);
  EXPECT_EQ(all, one_by_one);
}

// Decode-style calls (one position at a time, the cos/sin table growing as positions arrive,
// another Dh and theta in between) give exactly what one call over all positions gives.
TEST(Rope, GrowingPositionsAndInterleavedShapesAgree) {
  const int64_t t = 600, h = 2, dh = 64;
  std::vector<int64_t> pos(t);
  for (int64_t i = 0; i < t; ++i) pos[size_t(i)] = i;
  std::vector<float> together = test::random_floats(size_t(t * h * dh), 11);
  std::vector<float> stepwise = together;
  std::vector<float> other = test::random_floats(4 * 16, 12);
  for (int64_t i = 0; i < t; ++i) {
    rope_neox(stepwise.data() + i * h * dh, 1, h, dh, &pos[size_t(i)], 10000.0);
    if (i % 97 == 0) rope_neox(other.data(), 1, 4, 16, &pos[size_t(i)], 208533496.0);
  }
  rope_neox(together.data(), t, h, dh, pos.data(), 10000.0);
  EXPECT_EQ(together, stepwise);
  std::vector<float> want = test::random_floats(size_t(t * h * dh), 11);
  ref::rope_neox_ref(want.data(), t, h, dh, pos.data(), 10000.0);
  EXPECT_TRUE(all_close(together.data(), want.data(), want.size(),
                        tolerance_for(DType::F32, Level::Kernel), "rope_neox growing"));
}

// Dh = 4, theta = 100: w_0 = 1, w_1 = 100^(-1/2) = 0.1. Pairs are (x[0], x[2]) and (x[1], x[3]).
TEST(Rope, HandComputedHalfSplit) {
  const int64_t p = 3;
  for (bool reference : {false, true}) {
    float x[4] = {1.0f, 2.0f, 0.5f, -1.0f};
    if (reference)
      ref::rope_neox_ref(x, 1, 1, 4, &p, 100.0);
    else
      rope_neox(x, 1, 1, 4, &p, 100.0);
    const double c0 = std::cos(3.0), s0 = std::sin(3.0), c1 = std::cos(0.3), s1 = std::sin(0.3);
    EXPECT_NEAR(x[0], 1.0 * c0 - 0.5 * s0, 1e-6);
    EXPECT_NEAR(x[2], 0.5 * c0 + 1.0 * s0, 1e-6);
    EXPECT_NEAR(x[1], 2.0 * c1 - -1.0 * s1, 1e-6);
    EXPECT_NEAR(x[3], -1.0 * c1 + 2.0 * s1, 1e-6);
  }
  // Position 0 is the identity.
  const int64_t zero = 0;
  std::vector<float> x = test::random_floats(128, 3), x0 = x;
  rope_neox(x.data(), 1, 1, 128, &zero, 10000.0);
  EXPECT_EQ(x, x0);
}

}  // namespace
}  // namespace moescope::kernels
