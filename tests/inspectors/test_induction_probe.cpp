// The repeated-random-tokens sequence and the direct induction score, against the general
// induction metric.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/analysis/induction_probe.h"
#include "tests/common/expect_error.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

TEST(InductionProbe, RepeatedRandomTokens) {
  const auto ids = repeated_random_tokens(50, 3, 96, 7);
  ASSERT_EQ(ids.size(), 100u);
  std::set<int32_t> first_half;
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_GE(ids[i], 3);
    EXPECT_LT(ids[i], 96);
    EXPECT_EQ(ids[i + 50], ids[i]);
    first_half.insert(ids[i]);
  }
  EXPECT_EQ(first_half.size(), 50u);  // distinct, so each second-half row has one target
  EXPECT_EQ(repeated_random_tokens(50, 3, 96, 7), ids);  // deterministic
  EXPECT_NE(repeated_random_tokens(50, 3, 96, 8), ids);
  EXPECT_EQ(repeated_random_tokens(93, 3, 96, 1).size(), 186u);  // the whole range
  test::expect_error([] { repeated_random_tokens(94, 3, 96, 1); }, {"94", "3 .. 95", "93"});
  test::expect_error([] { repeated_random_tokens(0, 3, 96, 1); }, {"length 0"});
}

TEST(InductionProbe, DirectScoreEqualsTheInductionMetricOnRandomMaps) {
  const int64_t N = 20;
  const auto ids = repeated_random_tokens(N, 0, 1000, 3);
  auto run = test::crafted_run(ids, 2, 4, 1, 3);
  std::mt19937_64 rng(11);
  for (int32_t l = 0; l < 2; ++l)
    for (int32_t h = 0; h < 3; ++h)
      test::attend(
          run, l, h, 0,
          test::causal_map(
              2 * N, [&](int64_t t) { return test::random_softmax(rng, t + 1, 1.0f + float(h)); }),
          2 * N);
  for (const HeadMetrics& m : head_metrics(run)) {
    EXPECT_EQ(m.induction_rows, N);
    EXPECT_DOUBLE_EQ(m.induction, repeated_tokens_induction(run, m.layer, m.head, N));
  }
  EXPECT_TRUE(std::isnan(repeated_tokens_induction(run, 5, 0, N)));  // no such head
}

}  // namespace
}  // namespace moescope::inspectors
