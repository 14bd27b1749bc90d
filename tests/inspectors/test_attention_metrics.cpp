// Per-head attention metrics on crafted patterns: pure previous-token, induction and duplicate
// heads, a hand-computed partial map with and without TransformerLens' exclusions, and the
// incremental accumulator.
#include <gtest/gtest.h>

#include <cmath>

#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/analysis/induction_probe.h"
#include "tests/common/expect_error.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

using test::causal_map;
using test::one_hot;

constexpr int64_t kN = 5;
// Repeated random tokens [r1..r5, r1..r5].
const std::vector<int32_t> kRepeated = {3, 8, 1, 6, 4, 3, 8, 1, 6, 4};

storage::RunData head_run(const std::vector<std::vector<float>>& rows) {
  auto run = test::crafted_run(kRepeated, 1, 4, 1);
  test::attend(run, 0, 0, 0, rows, int64_t(kRepeated.size()));
  return run;
}

TEST(AttentionMetrics, PurePreviousTokenHead) {
  const auto run = head_run(causal_map(10, [](int64_t t) { return one_hot(t, t ? t - 1 : 0); }));
  const auto m = head_metrics(run);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].rows, 10);
  EXPECT_EQ(m[0].previous_rows, 9);
  EXPECT_DOUBLE_EQ(m[0].previous, 1.0);
  EXPECT_EQ(m[0].induction_rows, 5);
  EXPECT_DOUBLE_EQ(m[0].induction, 0.0);
  EXPECT_DOUBLE_EQ(m[0].duplicate, 0.0);
  EXPECT_DOUBLE_EQ(m[0].sink, 0.2);  // rows 0 and 1 put everything on key 0
  EXPECT_DOUBLE_EQ(m[0].entropy, 0.0);
  EXPECT_DOUBLE_EQ(repeated_tokens_induction(run, 0, 0, kN), 0.0);
}

TEST(AttentionMetrics, PureInductionHead) {
  // First half attends to itself; second half to the token after the first occurrence.
  const auto run =
      head_run(causal_map(10, [](int64_t t) { return one_hot(t, t < kN ? t : t - kN + 1); }));
  const auto m = head_metrics(run);
  EXPECT_DOUBLE_EQ(m[0].induction, 1.0);
  EXPECT_DOUBLE_EQ(m[0].previous, 0.0);
  EXPECT_DOUBLE_EQ(m[0].duplicate, 0.0);
  EXPECT_DOUBLE_EQ(repeated_tokens_induction(run, 0, 0, kN), 1.0);
}

TEST(AttentionMetrics, PureDuplicateTokenHead) {
  const auto run =
      head_run(causal_map(10, [](int64_t t) { return one_hot(t, t < kN ? t : t - kN); }));
  const auto m = head_metrics(run);
  EXPECT_EQ(m[0].duplicate_rows, 5);
  EXPECT_DOUBLE_EQ(m[0].duplicate, 1.0);
  EXPECT_DOUBLE_EQ(m[0].induction, 0.0);
}

TEST(AttentionMetrics, UniformRowsHaveFullNormalisedEntropy) {
  const auto run = head_run(causal_map(
      10, [](int64_t t) { return std::vector<float>(size_t(t + 1), 1.0f / float(t + 1)); }));
  const auto m = head_metrics(run);
  double h = 0, sink = 0;
  for (int t = 0; t < 10; ++t) {
    h += std::log(t + 1.0);
    sink += 1.0 / (t + 1);
  }
  // f16 storage rounds 1/(t+1) to 11 bits.
  EXPECT_NEAR(m[0].entropy, h / 10, 2e-3);
  EXPECT_NEAR(m[0].entropy_norm, 1.0, 2e-3);
  EXPECT_NEAR(m[0].sink, sink / 10, 1e-3);
  EXPECT_NEAR(m[0].previous, (sink - 1) / 9, 1e-3);  // rows t >= 1 put 1/(t+1) on t-1
}

// Tokens 5 6 5 6; only rows t = 2, 3 captured (a budgeted capture keeps the last rows).
storage::RunData partial_run() {
  auto run = test::crafted_run({5, 6, 5, 6}, 1, 4, 1);
  test::attend(run, 0, 0, 2, {{0.5f, 0.25f, 0.25f}, {0.25f, 0.5f, 0.0f, 0.25f}}, 4);
  return run;
}

TEST(AttentionMetrics, PartialMapHandComputed) {
  const auto m = head_metrics(partial_run());
  EXPECT_EQ(m[0].rows, 2);
  EXPECT_DOUBLE_EQ(m[0].sink, 0.375);
  EXPECT_DOUBLE_EQ(m[0].previous, 0.125);   // (0.25 + 0) / 2
  EXPECT_DOUBLE_EQ(m[0].duplicate, 0.5);    // rows put 0.5 on their earlier twin
  EXPECT_DOUBLE_EQ(m[0].induction, 0.125);  // (0.25 on key 1 + 0 on key 2) / 2
  const double h = 1.5 * std::log(2.0);
  EXPECT_NEAR(m[0].entropy, h, 1e-12);
  EXPECT_NEAR(m[0].entropy_norm, (h / std::log(3.0) + h / std::log(4.0)) / 2, 1e-12);
}

TEST(AttentionMetrics, TransformerLensExclusions) {
  HeadMetricOptions no_first;
  no_first.exclude_first_column = true;
  auto m = head_metrics(partial_run(), no_first);
  // Kept mass: 0.5 and 0.75.
  EXPECT_DOUBLE_EQ(m[0].previous, 0.25 / 1.25);
  EXPECT_DOUBLE_EQ(m[0].duplicate, 0.5 / 1.25);
  EXPECT_DOUBLE_EQ(m[0].induction, 0.25 / 1.25);
  EXPECT_DOUBLE_EQ(m[0].sink, 0.375);  // sink mass is reported whatever the exclusions

  HeadMetricOptions no_self;
  no_self.exclude_current_token = true;
  m = head_metrics(partial_run(), no_self);
  // Kept mass: 0.75 and 0.75.
  EXPECT_DOUBLE_EQ(m[0].previous, 0.25 / 1.5);
  EXPECT_DOUBLE_EQ(m[0].duplicate, 1.0 / 1.5);
  EXPECT_DOUBLE_EQ(m[0].induction, 0.25 / 1.5);
}

TEST(AttentionMetrics, AccumulatorWaitsForTokensAndMatchesBatch) {
  // The prefill's maps arrive before its tokens are reported.
  auto full =
      head_run(causal_map(10, [](int64_t t) { return one_hot(t, t < kN ? t : t - kN + 1); }));
  storage::RunData live = full;
  live.tokens.clear();
  live.attention.clear();
  test::attend(live, 0, 0, 0, causal_map(6, [](int64_t t) { return one_hot(t, t < kN ? t : 1); }),
               6);
  HeadMetricsAccumulator acc;
  acc.update(live);
  EXPECT_EQ(acc.records_consumed(), 0u);
  EXPECT_TRUE(acc.metrics().empty());
  live.tokens.assign(full.tokens.begin(), full.tokens.begin() + 6);
  acc.update(live);
  EXPECT_EQ(acc.records_consumed(), 1u);
  // Decode steps add one row each.
  for (int64_t t = 6; t < 10; ++t) {
    live.tokens.push_back(full.tokens[size_t(t)]);
    test::attend(live, 0, 0, t, {one_hot(t, t - kN + 1)}, t + 1);
    acc.update(live);
  }
  EXPECT_EQ(acc.records_consumed(), 5u);
  const auto inc = acc.metrics();
  const auto batch = head_metrics(full);
  EXPECT_EQ(inc[0].rows, batch[0].rows);
  EXPECT_DOUBLE_EQ(inc[0].induction, batch[0].induction);
  EXPECT_DOUBLE_EQ(inc[0].previous, batch[0].previous);
  EXPECT_DOUBLE_EQ(inc[0].sink, batch[0].sink);
  // A different run starts over.
  storage::RunData other = full;
  other.id = 2;
  acc.update(other);
  EXPECT_EQ(acc.metrics()[0].rows, 10);
}

TEST(AttentionMetrics, HeadsAreKeyedAndRanked) {
  auto run = test::crafted_run(kRepeated, 2, 4, 1, 3);
  auto prev = causal_map(10, [](int64_t t) { return one_hot(t, t ? t - 1 : 0); });
  auto ind = causal_map(10, [](int64_t t) { return one_hot(t, t < kN ? 0 : t - kN + 1); });
  auto half = causal_map(10, [](int64_t t) {
    std::vector<float> row(size_t(t + 1), 0.0f);
    row[0] += 0.5f;
    row[size_t(t < kN ? t : t - kN + 1)] += 0.5f;
    return row;
  });
  test::attend(run, 1, 2, 0, prev, 10);
  test::attend(run, 0, 1, 0, ind, 10);
  test::attend(run, 1, 0, 0, half, 10);
  run.attention[0].kv_head = 1;
  const auto m = head_metrics(run);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].layer, 0);
  EXPECT_EQ(m[0].head, 1);
  EXPECT_EQ(m[1].layer, 1);
  EXPECT_EQ(m[1].head, 0);
  EXPECT_EQ(m[2].head, 2);
  EXPECT_EQ(m[2].kv_head, 1);
  const auto by_induction = rank_heads(m, HeadMetric::Induction);
  EXPECT_EQ(by_induction, (std::vector<size_t>{0, 1, 2}));  // 1, 0.5, 0
  EXPECT_DOUBLE_EQ(m[1].induction, 0.5);
  EXPECT_EQ(rank_heads(m, HeadMetric::Induction, false), (std::vector<size_t>{2, 1, 0}));
  EXPECT_EQ(rank_heads(m, HeadMetric::Previous)[0], 2u);
  // Sinks: head (0,1) first half all on key 0 -> 0.5; (1,0) >= 0.5; (1,2) 0.2.
  EXPECT_NEAR(sink_rate(m, 0.3), 2.0 / 3.0, 1e-12);
}

TEST(AttentionMetrics, HeadsWithoutRowsForAMetricRankLast) {
  auto run = test::crafted_run({1, 2, 3, 4}, 1, 4, 1, 2);
  test::attend(run, 0, 0, 0, causal_map(4, [](int64_t t) { return one_hot(t, 0); }), 4);
  test::attend(run, 0, 1, 0, causal_map(4, [](int64_t t) { return one_hot(t, t); }), 4);
  const auto m = head_metrics(run);
  EXPECT_TRUE(std::isnan(m[0].induction));  // no repeated token: no induction rows
  EXPECT_EQ(m[0].induction_rows, 0);
  EXPECT_EQ(rank_heads(m, HeadMetric::Sink), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(rank_heads(m, HeadMetric::Sink, false), (std::vector<size_t>{1, 0}));
}

TEST(AttentionMetrics, MetricNamesRoundTrip) {
  for (HeadMetric m : {HeadMetric::Entropy, HeadMetric::EntropyNorm, HeadMetric::Sink,
                       HeadMetric::Previous, HeadMetric::Duplicate, HeadMetric::Induction}) {
    HeadMetric back = HeadMetric::Entropy;
    EXPECT_TRUE(parse_head_metric(head_metric_name(m), back));
    EXPECT_EQ(back, m);
  }
  HeadMetric unused;
  EXPECT_FALSE(parse_head_metric("inductions", unused));
}

TEST(AttentionMetrics, RecordOfTheWrongSizeIsAnError) {
  auto run = partial_run();
  run.attention[0].probs_f16.pop_back();
  test::expect_error([&] { head_metrics(run); }, {"layer 0 head 0", "7 values", "2 queries x 4"});
}

}  // namespace
}  // namespace moescope::inspectors
