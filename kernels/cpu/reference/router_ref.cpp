// Reference MoE router (grok-architecture.md 2.5, 3.3), in double: z = cap * tanh(l / cap) if
// cap > 0; p = softmax(z) over all E; the K most probable experts, ties to the lower id, by a
// stable sort; gates = their p, divided by their sum if renormalize.
// Shape legend: T tokens, E experts, K selected.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

void route_ref(const float* logits, int64_t t, const RouterParams& params, float* probs,
               int32_t* ids, float* gates) {
  const int64_t e_n = params.n_experts, k_n = params.top_k;
  std::vector<double> z(static_cast<size_t>(e_n)), p(static_cast<size_t>(e_n));
  std::vector<int32_t> order(static_cast<size_t>(e_n));
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t e = 0; e < e_n; ++e) {
      z[e] = logits[i * e_n + e];
      if (params.softcap > 0.0f)
        z[e] = double(params.softcap) * std::tanh(z[e] / double(params.softcap));
    }
    const double max_z = *std::max_element(z.begin(), z.end());
    double sum = 0.0;
    for (int64_t e = 0; e < e_n; ++e) sum += std::exp(z[e] - max_z);
    for (int64_t e = 0; e < e_n; ++e) {
      p[e] = std::exp(z[e] - max_z) / sum;
      probs[i * e_n + e] = float(p[e]);
    }
    // Descending probability; stable, so equal probabilities keep ascending expert ids.
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
    double gate_sum = 0.0;
    for (int64_t j = 0; j < k_n; ++j) gate_sum += p[order[j]];
    for (int64_t j = 0; j < k_n; ++j) {
      ids[i * k_n + j] = order[j];
      gates[i * k_n + j] = float(params.renormalize ? p[order[j]] / gate_sum : p[order[j]]);
    }
  }
}

}  // namespace moescope::kernels::ref
