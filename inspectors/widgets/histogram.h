// A histogram of a sample (op durations): linear or logarithmic bins, percentile markers, and
// the range and count of the hovered bin.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moescope::widgets {

struct Histogram {
  double lo = 0, hi = 0;  // the edges of the first and last bin
  bool log_x = false;     // bins of equal width in log10(x)
  std::vector<int64_t> counts;
  int64_t total = 0;

  // Edge i of bins+1 (i = 0: lo, i = bins: hi).
  double edge(size_t i) const;
};

// Bins over [min, max] of the values; log bins need positive values (others are skipped).
Histogram make_histogram(const std::vector<double>& values, int bins, bool log_x);

struct HistogramOptions {
  const char* x_title = nullptr;
  bool as_duration = false;  // x values are nanoseconds
  ImU32 color = 0;
  std::vector<std::pair<double, std::string>> markers;  // vertical lines (p50, p99, ...)
  const char* name = nullptr;
};

void histogram(const char* id, const Histogram& h, ImVec2 size, const HistogramOptions& options);

}  // namespace moescope::widgets
