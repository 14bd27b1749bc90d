#include "inspectors/analysis/routing_view.h"

#include "engine/core/error.h"

namespace moescope::inspectors {

LayerView layer_view(const storage::RunData& run, int32_t layer, const PositionRange& reads) {
  if (layer < 0 || size_t(layer) >= run.routing.size())
    fail("routing of layer ", layer, " requested; the run has ", run.routing.size(), " layers");
  const storage::LayerRouting& r = run.routing[size_t(layer)];
  LayerView v;
  v.routing = &r;
  v.n_experts = run.info.n_experts;
  v.top_k = run.info.top_k;
  v.n_positions = int64_t(r.present.size());
  const size_t P = size_t(v.n_positions);
  if (v.n_experts <= 0 || v.top_k <= 0 || v.top_k > v.n_experts || v.top_k > kMaxTopK)
    fail("run ", run.id, ": n_experts ", v.n_experts, " and top_k ", v.top_k,
         " (expected 1 <= top_k <= n_experts and top_k <= ", kMaxTopK, ")");
  if (r.probs.size() != P * size_t(v.n_experts) || r.ids.size() != P * size_t(v.top_k) ||
      r.gates.size() != P * size_t(v.top_k) || r.step.size() != P)
    fail("run ", run.id, " layer ", layer, ": routing arrays of ", r.probs.size(), " probs, ",
         r.ids.size(), " ids, ", r.gates.size(), " gates, ", r.step.size(), " steps for ", P,
         " positions (expected [P, E], [P, K], [P, K], [P] with E ", v.n_experts, ", K ", v.top_k,
         ")");
  for (int64_t p = v.begin(reads), end = v.end(reads); p < end; ++p) {
    if (!v.present(p)) continue;
    for (int64_t k = 0; k < v.top_k; ++k) {
      const int32_t id = v.ids(p)[k];
      if (id < 0 || id >= v.n_experts)
        fail("run ", run.id, " layer ", layer, " position ", p, ": expert id ", id,
             " (expected 0 .. ", v.n_experts - 1, ")");
    }
  }
  return v;
}

}  // namespace moescope::inspectors
