// Which positions an analysis reads: the whole run, or the positions routed by the last W
// decode steps (the sliding window the live views plot while a run generates).
#pragma once

#include <cstdint>
#include <limits>

#include "storage/run_data.h"

namespace moescope::inspectors {

// Positions begin .. end-1; end is clipped to the run's length by the analyses.
struct PositionRange {
  int64_t begin = 0;
  int64_t end = std::numeric_limits<int64_t>::max();

  bool contains(int64_t p) const { return p >= begin && p < end; }
};

inline PositionRange whole_run() {
  return {};
}

// The positions routed by decode steps s with max(1, S - w + 1) <= s <= S, where S is the last
// step that routed any position. The prefill (step 0) is never part of the window. Read from
// LayerRouting::step, the forward call that routed each position (TokenRecord::step of a
// generated token is the call that sampled it, one earlier). Empty when w <= 0 or nothing was
// decoded. Cost: O(L * w) from the end of the run.
PositionRange last_decode_steps(const storage::RunData& run, int64_t w);

}  // namespace moescope::inspectors
