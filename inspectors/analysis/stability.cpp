#include "inspectors/analysis/stability.h"

#include <algorithm>
#include <limits>

#include "inspectors/analysis/routing_view.h"

namespace moescope::inspectors {

RoutingStability routing_stability(const storage::RunData& a, const storage::RunData& b) {
  RoutingStability s;
  const int64_t n = std::min(a.n_positions(), b.n_positions());
  while (s.common_prefix < n &&
         a.tokens[size_t(s.common_prefix)].id == b.tokens[size_t(s.common_prefix)].id)
    ++s.common_prefix;
  const size_t layers = std::min(a.routing.size(), b.routing.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t l = 0; l < layers; ++l) {
    const PositionRange compared{0, s.common_prefix};
    const LayerView va = layer_view(a, int32_t(l), compared),
                    vb = layer_view(b, int32_t(l), compared);
    const int64_t end = std::min({s.common_prefix, va.n_positions, vb.n_positions});
    LayerStability x;
    x.layer = int32_t(l);
    int64_t shared = 0, same_first = 0;
    for (int64_t p = 0; p < end; ++p) {
      if (!va.present(p) || !vb.present(p)) continue;
      ++x.positions;
      const int32_t *ia = va.ids(p), *ib = vb.ids(p);
      for (int64_t r = 0; r < va.top_k; ++r)
        shared += std::find(ib, ib + vb.top_k, ia[r]) != ib + vb.top_k;
      same_first += ia[0] == ib[0];
    }
    const double k = double(std::max(va.top_k, vb.top_k));
    x.topk_overlap = x.positions ? double(shared) / (k * double(x.positions)) : nan;
    x.top1_agreement = x.positions ? double(same_first) / double(x.positions) : nan;
    s.layers.push_back(x);
  }
  return s;
}

}  // namespace moescope::inspectors
