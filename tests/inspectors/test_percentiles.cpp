// Percentiles and summaries against hand values and a sorted-array reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "inspectors/analysis/percentiles.h"

namespace moescope::inspectors {
namespace {

TEST(Percentiles, LinearInterpolationBetweenClosestRanks) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 50), 2.5);  // h = 1.5
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 90), 3.7);  // h = 2.7
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 100), 4);
  EXPECT_DOUBLE_EQ(percentile_sorted({7}, 99), 7);
  EXPECT_TRUE(std::isnan(percentile_sorted({}, 50)));
}

TEST(Percentiles, SummaryMatchesSortedReference) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> dist(8.0, 1.0);  // op durations in ns are skewed
  for (size_t n : {1, 2, 3, 10, 101, 1000, 4097}) {
    std::vector<double> v(n);
    for (double& x : v) x = std::floor(dist(rng));
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double x : v) sum += x;
    const double mean = sum / double(n);
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    const double sd = std::sqrt(ss / double(n));

    const Summary s = summarize(v);
    SCOPED_TRACE(n);
    EXPECT_EQ(s.count, int64_t(n));
    EXPECT_DOUBLE_EQ(s.total, sum);
    EXPECT_DOUBLE_EQ(s.mean, mean);
    EXPECT_DOUBLE_EQ(s.min, sorted.front());
    EXPECT_DOUBLE_EQ(s.max, sorted.back());
    EXPECT_DOUBLE_EQ(s.p50, percentile_sorted(sorted, 50));
    EXPECT_DOUBLE_EQ(s.p90, percentile_sorted(sorted, 90));
    EXPECT_DOUBLE_EQ(s.p99, percentile_sorted(sorted, 99));
    EXPECT_NEAR(s.std, sd, 1e-9 * mean);
    EXPECT_NEAR(s.cv, sd / mean, 1e-12);
  }
}

TEST(Percentiles, HandSummary) {
  std::vector<double> v = {10, 20, 30, 40, 50};
  const Summary s = summarize(v);
  EXPECT_DOUBLE_EQ(s.mean, 30);
  EXPECT_DOUBLE_EQ(s.p50, 30);
  EXPECT_DOUBLE_EQ(s.p90, 46);                // h = 3.6 -> 40 + 0.6 * 10
  EXPECT_DOUBLE_EQ(s.p99, 49.6);              // h = 3.96
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(200.0));  // population: sum of squares 1000 / 5
  EXPECT_DOUBLE_EQ(s.cv, std::sqrt(200.0) / 30);
}

TEST(Percentiles, EmptySummaryIsNaN) {
  std::vector<double> v;
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.total, 0);
  EXPECT_TRUE(std::isnan(s.mean));
  EXPECT_TRUE(std::isnan(s.p99));
  EXPECT_TRUE(std::isnan(s.cv));
}

}  // namespace
}  // namespace moescope::inspectors
