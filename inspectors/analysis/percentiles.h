// Summary statistics of a sample (op durations): count, total, mean, min, max, percentiles,
// standard deviation and coefficient of variation.
//
// Percentile convention: linear interpolation between closest ranks (NumPy's default "linear",
// Hyndman & Fan type 7): for n sorted values x_0 <= .. <= x_{n-1} and p in [0, 100],
//   h = (n - 1) * p / 100,  P_p = x_floor(h) + (h - floor(h)) * (x_floor(h)+1 - x_floor(h)).
// So P_0 = min, P_100 = max, and P_50 is the usual median.
// Standard deviation is the population one (divide by n): the recorded ops are the whole set
// being described, not a sample of a larger one. CV = std / mean.
#pragma once

#include <cstdint>
#include <vector>

namespace moescope::inspectors {

// P_p of an ascending-sorted array; NaN when empty.
double percentile_sorted(const std::vector<double>& sorted, double p);

struct Summary {
  int64_t count = 0;
  double total = 0;
  double mean = 0;  // NaN when count == 0, as are the fields below
  double min = 0;
  double max = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double std = 0;
  double cv = 0;  // std / mean; NaN when the mean is 0
};

// Summary of values (reordered in place: partial selection, O(n) on average, no full sort).
Summary summarize(std::vector<double>& values);

}  // namespace moescope::inspectors
