// Causal grouped-query attention over a KV cache with the Grok logit pipeline
// (grok-architecture.md 2.4 steps 3-6, 3.1): multiplier, soft-cap, Grok-2 temperature, mask,
// softmax in f32, weighted sum of values.
//
// Shape legend: T query tokens at absolute positions p0 .. p0+T-1, S = p0 + T visible keys,
// Hq query heads, Hkv KV heads, Dh head dim. q/o: [T, Hq, Dh]; k/v cache: [S_max, Hkv, Dh];
// probs: [Hq, T, S].
//
// Work item = one (query head, query token) pair: its S logits, softmax and output row are
// independent of every other pair. Items are ordered head-major so that a thread's consecutive
// items read the same KV head.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/simd.h"

namespace moescope::kernels {

namespace {

constexpr float kMasked = -1e30f;  // logit of a masked key (J-model's value, after the soft-cap)
constexpr int64_t kMinParallel = 1 << 15;  // Hq*T*S*Dh below which one thread is faster

// Grok-2's length-dependent temperature for query position p: log2(p)/log2(L) past L, else 1.
float temperature(int64_t p, int64_t len) {
  if (len <= 0 || p <= len) return 1.0f;
  return float(std::log2(double(p)) / std::log2(double(len)));
}

}  // namespace

void attention(const float* q, const float* k, const float* v, const uint8_t* key_valid, int64_t t,
               int64_t p0, const AttentionParams& params, float* o, float* probs,
               ThreadPool* pool) {
  const int64_t hq_n = params.n_q_heads, hkv_n = params.n_kv_heads, dh = params.head_dim;
  assert(hq_n > 0 && hkv_n > 0 && hq_n % hkv_n == 0 && dh > 0 && t >= 0 && p0 >= 0);
  // L = 1 would divide by log2(1) = 0.
  assert(params.temperature_len == 0 || params.temperature_len >= 2);
  const int64_t group = hq_n / hkv_n;  // query heads per KV head
  const int64_t s_n = p0 + t;
  const int64_t kv_stride = hkv_n * dh;  // floats between consecutive cache positions
  const float softcap = params.softcap;

  auto body = [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> scratch;  // [S] logits, when probs is not kept
    if (!probs && scratch.size() < size_t(s_n)) scratch.resize(size_t(s_n));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t hq = i / t, tq = i % t;
      const int64_t p = p0 + tq;  // absolute position of this query
      const int64_t g = hq / group;
      const float* qv = q + (tq * hq_n + hq) * dh;
      const float* kg = k + g * dh;
      const float* vg = v + g * dh;
      float* w = probs ? probs + (hq * t + tq) * s_n : scratch.data();  // [S]
      const float tau = temperature(p, params.temperature_len);

      // Logits. Keys past p are always masked; they are not even read.
      float max_l = -std::numeric_limits<float>::infinity();
      for (int64_t s = 0; s < s_n; ++s) {
        float l;
        if (s > p || (key_valid && !key_valid[s])) {
          l = kMasked;
        } else {
          l = simd::dot_f32(qv, kg + s * kv_stride, dh) * params.logit_multiplier;
          if (softcap > 0.0f) l = softcap * std::tanh(l / softcap);
          l *= tau;
        }
        w[s] = l;
        max_l = std::max(max_l, l);
      }
      // Softmax, max-subtracted. Masked keys get exp(-1e30 - max) = 0 exactly, unless every key
      // is masked: then all logits are equal and the weights are uniform, as in the reference.
      float sum = 0.0f;
      for (int64_t s = 0; s < s_n; ++s) {
        w[s] = std::exp(w[s] - max_l);
        sum += w[s];
      }
      const float inv = 1.0f / sum;
      float* out = o + (tq * hq_n + hq) * dh;
      std::fill(out, out + dh, 0.0f);
      for (int64_t s = 0; s < s_n; ++s) {
        w[s] *= inv;
        if (w[s] != 0.0f) simd::axpy_f32(w[s], vg + s * kv_stride, out, dh);
      }
    }
  };

  const int64_t items = hq_n * t;
  if (!pool || items * s_n * dh < kMinParallel)
    body(0, items);
  else
    pool->parallel_for(items, body);
}

}  // namespace moescope::kernels
