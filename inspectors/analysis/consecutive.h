// Consecutive-token expert reuse of one layer (Mixtral paper section 5, Table 5;
// tooling-conventions.md 5.7), beside what random routing would give (baselines.h):
//   same first choice  = mean over pairs (t, t+1) of 1[first choice of t == first choice of t+1]
//                        random baseline 1/E (12.5% for E = 8)
//   either choice      = mean over pairs of 1[S_t and S_t+1 share an expert]
//                        random baseline 1 - C(E-k, k) / C(E, k) (46.4% for E = 8, k = 2)
// Pairs are adjacent positions t, t+1 both inside the range and both with routing recorded.
// Cost: O(T k^2).
#pragma once

#include <cstdint>

#include "inspectors/analysis/position_range.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

struct ConsecutiveRates {
  int32_t layer = 0;
  int64_t pairs = 0;
  double same_first = 0;  // NaN when pairs == 0
  double either = 0;
  double random_same_first = 0;
  double random_either = 0;
};

ConsecutiveRates consecutive_rates(const storage::RunData& run, int32_t layer,
                                   const PositionRange& range = {});

}  // namespace moescope::inspectors
