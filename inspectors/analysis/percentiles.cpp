#include "inspectors/analysis/percentiles.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace moescope::inspectors {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Position h = (n - 1) * p / 100 of the type-7 percentile, split into its floor and fraction.
struct Rank {
  size_t lo;
  double frac;
};

Rank rank_of(size_t n, double p) {
  const double h = double(n - 1) * std::clamp(p, 0.0, 100.0) / 100.0;
  const double lo = std::floor(h);
  return {size_t(lo), h - lo};
}

// The type-7 percentile of v by selection, where v[0 .. from) already holds the `from` smallest
// values (a previous, lower percentile's partition): x_lo is placed by nth_element over the rest;
// x_lo+1 is the minimum above it, which nth_element leaves unordered but partitioned. Selecting
// ascending percentiles this way makes each pass work on the part above the last one.
double select_percentile(std::vector<double>& v, size_t from, const Rank& r) {
  // A lower percentile with the same rank already placed x_lo (from would pass it).
  from = std::min(from, r.lo);
  const auto at = v.begin() + std::ptrdiff_t(r.lo);
  std::nth_element(v.begin() + std::ptrdiff_t(from), at, v.end());
  const double lo = *at;
  if (r.frac == 0.0 || r.lo + 1 >= v.size()) return lo;
  return lo + r.frac * (*std::min_element(at + 1, v.end()) - lo);
}

}  // namespace

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return kNaN;
  const Rank r = rank_of(sorted.size(), p);
  if (r.lo + 1 >= sorted.size()) return sorted[r.lo];
  return sorted[r.lo] + r.frac * (sorted[r.lo + 1] - sorted[r.lo]);
}

Summary summarize(std::vector<double>& values) {
  Summary s;
  s.count = int64_t(values.size());
  if (values.empty()) {
    s.mean = s.min = s.max = s.p50 = s.p90 = s.p99 = s.std = s.cv = kNaN;
    return s;
  }
  double sum = 0, lo = values[0], hi = values[0];
  for (double v : values) {
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  s.total = sum;
  s.mean = sum / double(values.size());
  double ss = 0;  // two passes: no catastrophic cancellation for large-mean durations
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(ss / double(values.size()));
  s.cv = s.mean != 0 ? s.std / s.mean : kNaN;
  s.min = lo;
  s.max = hi;
  const Rank r50 = rank_of(values.size(), 50), r90 = rank_of(values.size(), 90),
             r99 = rank_of(values.size(), 99);
  s.p50 = select_percentile(values, 0, r50);
  s.p90 = select_percentile(values, r50.lo + 1, r90);
  s.p99 = select_percentile(values, r90.lo + 1, r99);
  return s;
}

}  // namespace moescope::inspectors
