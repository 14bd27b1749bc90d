// MoE router (grok-architecture.md 2.5, 3.3): optional tanh soft-cap, softmax over all E experts
// in f32, top-k by probability (ties to the lower expert id), gates = the winners' full-softmax
// probabilities, divided by their sum only when renormalize is set (Mixtral, vLLM).
// Shape legend: T tokens, E experts, K selected per token.
#include "kernels/cpu/router.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace moescope::kernels {

void route(const float* logits, int64_t t, const RouterParams& params, float* probs, int32_t* ids,
           float* gates) {
  const int64_t e_n = params.n_experts, k_n = params.top_k;
  assert(e_n > 0 && k_n > 0 && k_n <= e_n);
  for (int64_t tok = 0; tok < t; ++tok) {
    const float* l = logits + tok * e_n;
    float* p = probs + tok * e_n;
    int32_t* id = ids + tok * k_n;
    float* gate = gates + tok * k_n;

    // Soft-cap, then a max-subtracted softmax.
    float max_z = -INFINITY;
    for (int64_t e = 0; e < e_n; ++e) {
      p[e] = params.softcap > 0.0f ? params.softcap * std::tanh(l[e] / params.softcap) : l[e];
      max_z = std::max(max_z, p[e]);
    }
    float sum = 0.0f;
    for (int64_t e = 0; e < e_n; ++e) {
      p[e] = std::exp(p[e] - max_z);
      sum += p[e];
    }
    for (int64_t e = 0; e < e_n; ++e) p[e] /= sum;

    // Top-k by repeated selection (E is small: 8 or 16). A strict '>' keeps the lower id on
    // ties, and an already chosen expert is skipped by its id, not by its value. Ranking is on
    // the f32 probabilities, like jax.lax.top_k in the Grok-1 reference: experts whose
    // probability underflowed to 0 tie (with gate 0) and go in id order.
    for (int64_t j = 0; j < k_n; ++j) {
      int32_t best = -1;
      for (int64_t e = 0; e < e_n; ++e) {
        if (std::find(id, id + j, int32_t(e)) != id + j) continue;
        if (best < 0 || p[e] > p[best]) best = int32_t(e);
      }
      id[j] = best;
      gate[j] = p[best];
    }
    if (params.renormalize) {
      float g_sum = 0.0f;
      for (int64_t j = 0; j < k_n; ++j) g_sum += gate[j];
      for (int64_t j = 0; j < k_n; ++j) gate[j] /= g_sum;
    }
  }
}

}  // namespace moescope::kernels
