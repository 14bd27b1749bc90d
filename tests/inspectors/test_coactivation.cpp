// Co-activation P(j | i) on a crafted pattern with a known matrix.
#include <gtest/gtest.h>

#include "inspectors/analysis/coactivation.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

TEST(Coactivation, KnownPatternGivesKnownMatrix) {
  // E = 4, k = 2: {0,1}, {0,1}, {0,2}, {3,1}; n = {3, 3, 1, 1}.
  auto run = test::crafted_run({1, 2, 3, 4}, 1, 4, 2);
  test::route(run, 0, 0, {0, 1});
  test::route(run, 0, 1, {1, 0});
  test::route(run, 0, 2, {0, 2});
  test::route(run, 0, 3, {3, 1});
  const Coactivation c = coactivation(run, 0);
  EXPECT_EQ(c.tokens, 4);
  const double third = 1.0 / 3.0, two = 2.0 / 3.0;
  const double expected[4][4] = {
      {1, two, third, 0},  // given 0 (3 tokens): 1 twice, 2 once
      {two, 1, 0, third},  // given 1 (3 tokens): 0 twice, 3 once
      {1, 0, 1, 0},        // given 2 (1 token): 0
      {0, 1, 0, 1},        // given 3 (1 token): 1
  };
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(c.p(i, j), expected[i][j], 1e-12) << i << "," << j;
  EXPECT_EQ(c.count(0, 1), 2);
  EXPECT_EQ(c.count(1, 0), 2);
  EXPECT_EQ(c.count(0, 0), 3);
}

TEST(Coactivation, UnusedExpertHasAZeroRowAndRangeIsHonoured) {
  auto run = test::crafted_run({1, 2, 3}, 1, 4, 2);
  test::route(run, 0, 0, {0, 1});
  test::route(run, 0, 1, {2, 1});
  test::route(run, 0, 2, {2, 0});
  const Coactivation c = coactivation(run, 0, {1, 3});
  EXPECT_EQ(c.tokens, 2);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(c.p(3, j), 0.0);
  EXPECT_DOUBLE_EQ(c.p(2, 1), 0.5);
  EXPECT_DOUBLE_EQ(c.p(2, 0), 0.5);
  EXPECT_DOUBLE_EQ(c.p(0, 1), 0.0);  // the {0, 1} token is outside the range
}

}  // namespace
}  // namespace moescope::inspectors
