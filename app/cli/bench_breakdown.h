// Time per token by op for `moescope bench`: the forward pass's own OpScope probes feed a small
// in-memory sink that sums durations per op name. Timing every op perturbs the run a little
// (two clock reads and one call per op), so the breakdown comes from its own pass, separate from
// the timed repetitions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/model/model.h"

namespace moescope::app {

struct OpShare {
  std::string name;  // "moe.expert.gate_up_proj", summed over layers and experts
  std::string kind;  // "matmul", "attention", ...
  int64_t calls = 0;
  double ns = 0;  // summed duration
};

struct PhaseBreakdown {
  int64_t tokens = 0;
  double wall_ns = 0;        // the traced pass, end to end
  std::vector<OpShare> ops;  // by total duration, largest first
  double op_ns() const;      // the sum over ops (the rest is glue between probes)
};

// One traced prefill of prompt into an empty cache, and one traced decode of gen single-token
// steps from an empty cache (greedy), as the timed bench runs them.
PhaseBreakdown breakdown_prefill(Model& model, std::span<const int32_t> prompt);
PhaseBreakdown breakdown_decode(Model& model, int32_t first, int64_t gen);

}  // namespace moescope::app
