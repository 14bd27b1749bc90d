// Routing stability between two runs over the same tokens.
#include <gtest/gtest.h>

#include <cmath>

#include "inspectors/analysis/stability.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

TEST(Stability, CraftedOverlapAndCommonPrefix) {
  auto a = test::crafted_run({1, 2, 3, 4, 5}, 2, 4, 2);
  auto b = test::crafted_run({1, 2, 3, 9, 5}, 2, 4, 2);  // differs from position 3 on
  for (int32_t p = 0; p < 5; ++p) {
    test::route(a, 0, p, {0, 1});
    test::route(a, 1, p, {2, 3});
  }
  test::route(b, 0, 0, {0, 1});  // same set, same first choice
  test::route(b, 0, 1, {1, 0});  // same set, other first choice
  test::route(b, 0, 2, {1, 3});  // one shared
  test::route(b, 0, 3, {2, 3});  // past the common prefix: ignored
  test::route(b, 1, 0, {0, 1});  // nothing shared
  test::route(b, 1, 2, {2, 3});  // position 1 of layer 1 not recorded in b
  const RoutingStability s = routing_stability(a, b);
  EXPECT_EQ(s.common_prefix, 3);
  ASSERT_EQ(s.layers.size(), 2u);
  EXPECT_EQ(s.layers[0].positions, 3);
  EXPECT_NEAR(s.layers[0].topk_overlap, (1.0 + 1.0 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(s.layers[0].top1_agreement, 1.0 / 3, 1e-12);
  EXPECT_EQ(s.layers[1].positions, 2);
  EXPECT_NEAR(s.layers[1].topk_overlap, 0.5, 1e-12);
  EXPECT_NEAR(s.layers[1].top1_agreement, 0.5, 1e-12);
}

TEST(Stability, DifferentFirstTokenComparesNothing) {
  auto a = test::crafted_run({1, 2}, 1, 4, 1);
  auto b = test::crafted_run({2, 2}, 1, 4, 1);
  test::route(a, 0, 0, {0});
  test::route(b, 0, 0, {0});
  const RoutingStability s = routing_stability(a, b);
  EXPECT_EQ(s.common_prefix, 0);
  EXPECT_EQ(s.layers[0].positions, 0);
  EXPECT_TRUE(std::isnan(s.layers[0].topk_overlap));
}

}  // namespace
}  // namespace moescope::inspectors
