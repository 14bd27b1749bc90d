// Checked, shaped access to one layer's routing in a RunData, shared by the routing analyses.
// Shape legend: P positions recorded for the layer, E experts, K selected per token.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "inspectors/analysis/position_range.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

// The largest top-k the analyses handle (per-token selections live in fixed-size buffers).
constexpr int64_t kMaxTopK = 64;

struct LayerView {
  const storage::LayerRouting* routing = nullptr;
  int64_t n_experts = 0;    // E
  int64_t top_k = 0;        // K
  int64_t n_positions = 0;  // P

  bool present(int64_t p) const { return routing->present[size_t(p)] != 0; }
  const float* probs(int64_t p) const { return routing->probs.data() + p * n_experts; }  // [E]
  const int32_t* ids(int64_t p) const {
    return routing->ids.data() + p * top_k;
  }  // [K], best first
  const float* gates(int64_t p) const { return routing->gates.data() + p * top_k; }  // [K]
  // The raw router logits [E] of p, or null where none were recorded (older traces, or
  // positions whose logits are NaN).
  const float* logits(int64_t p) const {
    if (routing->logits.size() != size_t(n_positions * n_experts)) return nullptr;
    const float* x = routing->logits.data() + p * n_experts;
    return std::isnan(x[0]) ? nullptr : x;
  }
  int64_t step(int64_t p) const { return routing->step[size_t(p)]; }

  // The range clipped to the positions this layer holds.
  int64_t begin(const PositionRange& r) const {
    return std::clamp<int64_t>(r.begin, 0, n_positions);
  }
  int64_t end(const PositionRange& r) const { return std::clamp<int64_t>(r.end, 0, n_positions); }
};

// The view of run.routing[layer], for reading the expert ids of positions in `reads`. E and K
// come from RunInfo; throws moescope::Error naming the layer when the arrays do not have the
// shapes they imply, K is outside 1 .. min(E, kMaxTopK), or an expert id of a recorded position
// in `reads` is out of range (a corrupt trace must not be read out of bounds). Checking only
// the range read keeps a window's cost independent of the run's length.
LayerView layer_view(const storage::RunData& run, int32_t layer, const PositionRange& reads);

}  // namespace moescope::inspectors
