// Consecutive-token same-expert rates and their random baselines.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "inspectors/analysis/baselines.h"
#include "inspectors/analysis/consecutive.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

TEST(Consecutive, CraftedSequence) {
  auto run = test::crafted_run({1, 2, 3, 4, 5}, 1, 8, 2);
  test::route(run, 0, 0, {0, 1});
  test::route(run, 0, 1, {0, 2});  // same first, overlap
  test::route(run, 0, 2, {3, 2});  // overlap on 2 (second vs second choice)
  test::route(run, 0, 3, {4, 5});  // nothing shared
  test::route(run, 0, 4, {5, 4});  // overlap, different first choice
  const ConsecutiveRates c = consecutive_rates(run, 0);
  EXPECT_EQ(c.pairs, 4);
  EXPECT_DOUBLE_EQ(c.same_first, 0.25);
  EXPECT_DOUBLE_EQ(c.either, 0.75);
  EXPECT_DOUBLE_EQ(c.random_same_first, 0.125);
  EXPECT_NEAR(c.random_either, 13.0 / 28.0, 1e-12);
}

TEST(Consecutive, GapsBreakPairs) {
  auto run = test::crafted_run({1, 2, 3, 4}, 1, 4, 1);
  test::route(run, 0, 0, {1});
  test::route(run, 0, 1, {1});
  test::route(run, 0, 3, {1});  // position 2 not recorded: (1,2) and (2,3) are not pairs
  const ConsecutiveRates c = consecutive_rates(run, 0);
  EXPECT_EQ(c.pairs, 1);
  EXPECT_DOUBLE_EQ(c.same_first, 1.0);
  EXPECT_TRUE(std::isnan(consecutive_rates(run, 0, {2, 4}).same_first));
}

// Exact probability by enumeration: two k-subsets of E drawn independently and uniformly.
double enumerated_overlap(int E, int k) {
  std::vector<unsigned> subsets;
  for (unsigned m = 0; m < (1u << E); ++m)
    if (__builtin_popcount(m) == k) subsets.push_back(m);
  double meet = 0;
  for (unsigned a : subsets)
    for (unsigned b : subsets) meet += (a & b) != 0;
  return meet / double(subsets.size() * subsets.size());
}

TEST(Consecutive, RandomBaselinesForAnyEAndK) {
  EXPECT_DOUBLE_EQ(random_same_first_choice(8), 0.125);
  EXPECT_NEAR(random_overlap_either_choice(8, 2), 0.4642857142857143, 1e-15);
  for (int E = 1; E <= 12; ++E)
    for (int k = 1; k <= std::min(E, 4); ++k)
      EXPECT_NEAR(random_overlap_either_choice(E, k), enumerated_overlap(E, k), 1e-12)
          << "E " << E << " k " << k;
}

}  // namespace
}  // namespace moescope::inspectors
