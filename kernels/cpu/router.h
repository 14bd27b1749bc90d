// MoE router: soft-cap, softmax over all experts in f32, then top-k (grok-architecture.md 2.5,
// 3.3). Gates are the full-softmax probabilities of the winners unless renormalize is set
// (Mixtral), in which case they are divided by their sum. Ties pick the lower expert id. Ranking is
// on the f32 probabilities (as jax.lax.top_k in the Grok-1 reference): probabilities that
// underflow to 0 tie.
// Shape legend: T tokens, E experts, K selected per token.
#pragma once

#include <cstdint>

namespace moescope::kernels {

struct RouterParams {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  float softcap = 0.0f;  // 0 = off; else logits = softcap * tanh(logits / softcap)
  bool renormalize = false;
};

// logits: [T, E]. probs: [T, E] (softmax of the capped logits). ids: [T, K] in descending
// probability. gates: [T, K].
void route(const float* logits, int64_t t, const RouterParams& params, float* probs, int32_t* ids,
           float* gates);

}  // namespace moescope::kernels
