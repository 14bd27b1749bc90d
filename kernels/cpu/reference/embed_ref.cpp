// Reference embedding lookup (grok-architecture.md 2.2, 3.4): out[t, d] = W[ids[t], d] *
// multiplier, each element through WeightMatrix::at. Shape legend: T tokens, D features.
#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

void embed_ref(const WeightMatrix& table, const int32_t* ids, int64_t t, float multiplier,
               float* out) {
  for (int64_t i = 0; i < t; ++i)
    for (int64_t d = 0; d < table.k; ++d)
      out[i * table.k + d] = float(double(table.at(ids[i], d)) * double(multiplier));
}

}  // namespace moescope::kernels::ref
