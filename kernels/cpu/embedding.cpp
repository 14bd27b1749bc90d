// Embedding lookup (grok-architecture.md 2.2, 3.4): out[t, :] = table[ids[t], :] * multiplier,
// the table row converted from its stored dtype (and scales) to f32 first.
// Shape legend: T tokens, V vocab rows, D features.
#include "kernels/cpu/embedding.h"

#include <cassert>

namespace moescope::kernels {

void embed(const WeightMatrix& table, const int32_t* ids, int64_t t, float multiplier, float* out) {
  const int64_t d = table.k;
  for (int64_t tok = 0; tok < t; ++tok) {
    const int64_t id = ids[tok];
    assert(id >= 0 && id < table.n && "token id outside the embedding table");
    float* row = out + tok * d;
    dequantize_rows(table, id, id + 1, row);
    for (int64_t i = 0; i < d; ++i) row[i] *= multiplier;
  }
}

}  // namespace moescope::kernels
