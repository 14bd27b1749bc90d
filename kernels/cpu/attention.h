// Causal grouped-query attention over a KV cache, with the Grok logit pipeline
// (grok-architecture.md 2.4 and 3.1):
//   l = (q . k) * logit_multiplier
//   l = softcap * tanh(l / softcap)                  when softcap > 0
//   l = tau(p) * l, tau(p) = log2(p)/log2(L) if p > L  when temperature_len L > 0 (Grok-2)
//   masked keys (s > p, or key_valid[s] == 0) get -1e30, then softmax over keys in f32.
// Query head hq reads KV head hq / (Hq / Hkv).
//
// Shape legend: T new query tokens at absolute positions p0 .. p0+T-1, S = p0 + T visible keys,
// Hq query heads, Hkv KV heads, Dh head dim.
#pragma once

#include <cstdint>

#include "kernels/cpu/thread_pool.h"

namespace moescope::kernels {

struct AttentionParams {
  int64_t n_q_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  float logit_multiplier = 1.0f;
  float softcap = 0.0f;         // 0 = off
  int64_t temperature_len = 0;  // 0 = off; else L >= 2
};

// q: [T, Hq, Dh]. k, v: the cache, rows [0, S) of [S_max, Hkv, Dh]. key_valid: [S] or null (all
// valid). o: [T, Hq, Dh]. probs: null, or [Hq, T, S] receiving the post-softmax probabilities
// (masked entries 0). A query whose keys are all masked gets uniform weights over the S keys (every
// logit is -1e30), as the -1e30 convention of the reference implies; callers keep key p valid to
// avoid it.
void attention(const float* q, const float* k, const float* v, const uint8_t* key_valid, int64_t t,
               int64_t p0, const AttentionParams& params, float* o, float* probs, ThreadPool* pool);

}  // namespace moescope::kernels
