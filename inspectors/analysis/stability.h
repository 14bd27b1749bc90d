// Routing stability between two runs over the same tokens (OLMoE "router saturation" reused for
// inference; tooling-conventions.md 5.8): per layer, over the positions t of the two runs'
// common token prefix where both recorded routing,
//   top-k overlap  = mean_t |S_t^a ∩ S_t^b| / k     (k = the larger of the runs' top-k)
//   top-1 agreement = mean_t 1[first choice^a == first choice^b]
// Only the common prefix is compared: after the first differing token the contexts differ, so
// the routers see different inputs. A run compared with itself scores 1 and 1.
// Cost: O(T k^2 L).
#pragma once

#include <cstdint>
#include <vector>

#include "storage/run_data.h"

namespace moescope::inspectors {

struct LayerStability {
  int32_t layer = 0;
  int64_t positions = 0;  // compared; the ratios are NaN when 0
  double topk_overlap = 0;
  double top1_agreement = 0;
};

struct RoutingStability {
  int64_t common_prefix = 0;           // positions whose token ids agree, from 0
  std::vector<LayerStability> layers;  // one per layer both runs have
};

RoutingStability routing_stability(const storage::RunData& a, const storage::RunData& b);

}  // namespace moescope::inspectors
