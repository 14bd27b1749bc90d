#include "inspectors/analysis/consecutive.h"

#include <algorithm>
#include <limits>

#include "inspectors/analysis/baselines.h"
#include "inspectors/analysis/routing_view.h"

namespace moescope::inspectors {

ConsecutiveRates consecutive_rates(const storage::RunData& run, int32_t layer,
                                   const PositionRange& range) {
  const LayerView v = layer_view(run, layer, range);
  const int64_t K = v.top_k;
  ConsecutiveRates c;
  c.layer = layer;
  c.random_same_first = random_same_first_choice(v.n_experts);
  c.random_either = random_overlap_either_choice(v.n_experts, K);
  int64_t same = 0, either = 0;
  for (int64_t p = v.begin(range), end = v.end(range); p + 1 < end; ++p) {
    if (!v.present(p) || !v.present(p + 1)) continue;
    ++c.pairs;
    const int32_t* a = v.ids(p);
    const int32_t* b = v.ids(p + 1);
    same += a[0] == b[0];
    bool meet = false;
    for (int64_t r = 0; r < K && !meet; ++r) meet = std::find(b, b + K, a[r]) != b + K;
    either += meet;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  c.same_first = c.pairs ? double(same) / double(c.pairs) : nan;
  c.either = c.pairs ? double(either) / double(c.pairs) : nan;
  return c;
}

}  // namespace moescope::inspectors
