#include "inspectors/analysis/position_range.h"

#include <algorithm>

namespace moescope::inspectors {

namespace {

// The last position of a layer with routing recorded, or -1.
int64_t last_present(const storage::LayerRouting& r) {
  for (int64_t p = int64_t(r.present.size()) - 1; p >= 0; --p)
    if (r.present[size_t(p)]) return p;
  return -1;
}

}  // namespace

PositionRange last_decode_steps(const storage::RunData& run, int64_t w) {
  if (w <= 0) return {0, 0};
  // Layers of a live run may be one step apart (the step in progress reaches them in order),
  // so the newest step is the maximum over layers.
  int64_t newest = -1;
  for (const auto& r : run.routing) {
    const int64_t p = last_present(r);
    if (p >= 0) newest = std::max(newest, r.step[size_t(p)]);
  }
  if (newest < 1) return {0, 0};
  const int64_t first_step = std::max<int64_t>(1, newest - w + 1);
  // Steps grow with position, so the window starts at the earliest position, over all layers,
  // routed by a step >= first_step; walk back from the end until every layer is older.
  int64_t begin = std::numeric_limits<int64_t>::max();
  for (const auto& r : run.routing) {
    for (int64_t p = int64_t(r.present.size()) - 1; p >= 0; --p) {
      if (!r.present[size_t(p)]) continue;
      if (r.step[size_t(p)] < first_step) break;
      begin = std::min(begin, p);
    }
  }
  if (begin == std::numeric_limits<int64_t>::max()) return {0, 0};
  return {begin, std::numeric_limits<int64_t>::max()};
}

}  // namespace moescope::inspectors
