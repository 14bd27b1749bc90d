// Statistics of the recorded ops (kernel timings), grouped by op name, (name, layer), kind,
// layer, expert or device, over a range of steps (tooling-conventions.md 0 and 8: the Tracy
// find-zone block and tracy-csvexport's columns).
// Per group, over the durations d = end_ns - start_ns of its ops:
//   count, total, mean, min, max, p50, p90, p99, std, CV    (percentiles.h conventions)
//   time share   total / total of all ops selected
//   bytes, flops the sums of the recorded per-op counts (engine/model/op_costs.h)
//   GB/s         sum(bytes) / sum(d): bytes per nanosecond is exactly 10^9 bytes per second
//   GFLOP/s      sum(flops) / sum(d)
//   of ceiling   GB/s / MachineCeilings::read_gbps, GFLOP/s / MachineCeilings::gemm_gflops
//                (NaN without ceilings; the all-threads read rate, since ops run on the pool;
//                small ops whose data sit in cache can exceed the memory-read ceiling)
// Ratios of sums, not means of per-op rates, so a few tiny ops cannot dominate.
// Cost: O(n) to group (names are interned ids), O(n) on average for the percentiles.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "inspectors/analysis/ceilings.h"
#include "inspectors/analysis/percentiles.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

enum class OpGrouping { Name, NameLayer, Kind, Layer, Expert, Device };

const char* op_grouping_name(OpGrouping g);  // "name", "name_layer", "kind", ...
bool parse_op_grouping(const std::string& s, OpGrouping& out);

// Ops of steps first_step .. last_step (0 = the prefill).
struct OpFilter {
  int64_t first_step = 0;
  int64_t last_step = std::numeric_limits<int64_t>::max();
};

struct OpGroup {
  // The key; fields the grouping does not use are "" or -1 (kind is also set for name
  // groupings). Layer and expert are -1 also for ops outside any layer or expert (their group
  // under Layer / Expert grouping).
  std::string name;
  std::string kind;
  int32_t layer = -1;
  int32_t expert = -1;
  int32_t device = -1;

  Summary time_ns;
  double time_share = 0;
  int64_t bytes = 0;
  int64_t flops = 0;
  double gbps = 0;
  double gflops = 0;
  double bandwidth_fraction = 0;
  double compute_fraction = 0;
};

// Groups ordered by total time, largest first (ties: by key).
std::vector<OpGroup> op_stats(const storage::RunData& run, OpGrouping by,
                              const OpFilter& filter = {},
                              const MachineCeilings* ceilings = nullptr);

}  // namespace moescope::inspectors
