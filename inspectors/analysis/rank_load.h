// Expert-parallel balance: with experts placed on M expert groups (the run's layout_json, written
// by a sharded run), the routed (token, choice) assignments each group served per layer, and the
// rank balance mean / max over the groups (1 = even; 1/M = one group did everything). A
// researcher compares placements by it: the busiest group sets the pace of an EP step.
#pragma once

#include <cstdint>
#include <vector>

#include "inspectors/analysis/routing_stats.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

struct ExpertGroups {
  int32_t ep = 1;
  int32_t tp = 1;
  std::vector<int32_t> placement;  // [E] group of each expert
};

// The run's expert groups; nullopt-like ep == 1 when the run was not expert-parallel or has no
// layout. Throws moescope::Error when the layout names experts or groups the run does not have.
ExpertGroups expert_groups(const storage::RunData& run);

struct GroupLoad {
  int32_t layer = 0;
  std::vector<int64_t> load;  // [M] assignments served by each group
  double balance = 0;         // mean / max; NaN without routing
};

// One entry per layer, from the per-expert loads of routing_stats().
std::vector<GroupLoad> group_loads(const ExpertGroups& groups,
                                   const std::vector<LayerRoutingStats>& routing);

}  // namespace moescope::inspectors
