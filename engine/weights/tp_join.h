// Joining the per-rank slices of one tensor from a TP-presharded checkpoint (internal).
//
// grok-architecture.md 4.3: Grok-2's expert weights are split over 8 ranks, w1/w3 along their
// output rows (dim 0) and w2 along its input columns (dim 1). The rule is keyed on the name on
// purpose: a shape-based guess cannot tell a dim-1 split of a square slice from a dim-0 one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/weights/safetensors.h"

namespace moescope::weights_detail {

// The dim along which the rank slices of the tensor called name are concatenated: 0 for
// *.w1.weight and *.w3.weight, 1 for *.w2.weight, nullopt for every other name (those must be
// replicated: identical on every rank).
std::optional<int> tp_join_dim(const std::string& name);

// Concatenates slices (slices[r] from rank r) along dim into out and returns the joined view
// (data points into out). All slices must share dtype, rank and every dim but dim.
TensorView concat_rank_slices(const std::vector<const TensorView*>& slices, int dim,
                              std::vector<uint8_t>& out);

// Checks that every slice has the dtype, shape and bytes of slices[0]; throws naming the first
// rank that differs.
void check_replicated(const std::vector<const TensorView*>& slices);

}  // namespace moescope::weights_detail
