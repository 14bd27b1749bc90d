#include "inspectors/analysis/coactivation.h"

#include "inspectors/analysis/routing_view.h"

namespace moescope::inspectors {

Coactivation coactivation(const storage::RunData& run, int32_t layer, const PositionRange& range) {
  const LayerView v = layer_view(run, layer, range);
  const int64_t E = v.n_experts, K = v.top_k;
  Coactivation c;
  c.layer = layer;
  c.n_experts = E;
  c.counts.assign(size_t(E * E), 0);
  c.conditional.assign(size_t(E * E), 0.0);
  for (int64_t p = v.begin(range), end = v.end(range); p < end; ++p) {
    if (!v.present(p)) continue;
    ++c.tokens;
    const int32_t* ids = v.ids(p);
    for (int64_t a = 0; a < K; ++a)
      for (int64_t b = 0; b < K; ++b) ++c.counts[size_t(ids[a] * E + ids[b])];
  }
  for (int64_t i = 0; i < E; ++i) {
    const int64_t n = c.count(i, i);
    if (n == 0) continue;
    for (int64_t j = 0; j < E; ++j)
      c.conditional[size_t(i * E + j)] = double(c.count(i, j)) / double(n);
  }
  return c;
}

}  // namespace moescope::inspectors
