// Embedding lookup: out[t, :] = table[ids[t], :] * multiplier, converting the table's dtype to f32.
// Shape legend: T tokens, V vocab rows, D features.
#pragma once

#include <cstdint>

#include "kernels/cpu/matmul.h"

namespace moescope::kernels {

// table: WeightMatrix [V, D] (any dtype matmul accepts). ids must be in [0, V).
void embed(const WeightMatrix& table, const int32_t* ids, int64_t t, float multiplier, float* out);

}  // namespace moescope::kernels
