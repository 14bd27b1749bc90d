// Expert co-activation of one layer (OLMoE run_moe_analysis.py; tooling-conventions.md 5.8):
//   C[i][j] = #{t : i in S_t and j in S_t}   (C[i][i] = n_i, the load of i)
//   P(j | i) = C[i][j] / n_i                  (row i; the diagonal is 1 wherever n_i > 0)
// over the tokens t of a range with routing recorded. All pairs of S_t are counted (OLMoE
// counts rank-adjacent pairs of the sorted top-k list, which for k = 2 is the same thing).
// Shape legend: E experts. Cost: O(T k^2).
#pragma once

#include <cstdint>
#include <vector>

#include "inspectors/analysis/position_range.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

struct Coactivation {
  int32_t layer = 0;
  int64_t n_experts = 0;            // E
  int64_t tokens = 0;               // T
  std::vector<int64_t> counts;      // [E, E] C[i][j], row-major
  std::vector<double> conditional;  // [E, E] P(j | i); row i is 0 when n_i == 0 (no data)

  double p(int64_t i, int64_t j) const { return conditional[size_t(i * n_experts + j)]; }
  int64_t count(int64_t i, int64_t j) const { return counts[size_t(i * n_experts + j)]; }
};

Coactivation coactivation(const storage::RunData& run, int32_t layer,
                          const PositionRange& range = {});

}  // namespace moescope::inspectors
