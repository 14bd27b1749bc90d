// Reference causal GQA attention with the Grok logit pipeline (grok-architecture.md 2.4, 3.1),
// in double: l = (q.k) * multiplier; l = cap * tanh(l / cap) if cap > 0; l *= log2(p)/log2(L)
// if L > 0 and p > L; l = -1e30 for keys s > p or key_valid[s] == 0; softmax over the S keys;
// o = sum_s prob_s v_s. Query head hq reads KV head hq / (Hq / Hkv).
// Shape legend: T queries at positions p0 .. p0+T-1, S = p0 + T keys, Hq/Hkv heads, Dh dims.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

void attention_ref(const float* q, const float* k, const float* v, const uint8_t* key_valid,
                   int64_t t, int64_t p0, const AttentionParams& params, float* o, float* probs) {
  const int64_t hq_n = params.n_q_heads, hkv_n = params.n_kv_heads, dh = params.head_dim;
  const int64_t s_n = p0 + t;
  std::vector<double> l(static_cast<size_t>(s_n));  // [S] logits of one query
  for (int64_t hq = 0; hq < hq_n; ++hq) {
    const int64_t g = hq / (hq_n / hkv_n);
    for (int64_t i = 0; i < t; ++i) {
      const int64_t p = p0 + i;
      const float* qv = q + (i * hq_n + hq) * dh;
      for (int64_t s = 0; s < s_n; ++s) {
        const float* kv = k + (s * hkv_n + g) * dh;
        double dot = 0.0;
        for (int64_t d = 0; d < dh; ++d) dot += double(qv[d]) * double(kv[d]);
        double logit = dot * double(params.logit_multiplier);
        if (params.softcap > 0.0f)
          logit = double(params.softcap) * std::tanh(logit / double(params.softcap));
        if (params.temperature_len > 0 && p > params.temperature_len)
          logit *= std::log2(double(p)) / std::log2(double(params.temperature_len));
        const bool masked = s > p || (key_valid && key_valid[s] == 0);
        l[s] = masked ? -1e30 : logit;
      }
      double max_l = l[0];
      for (int64_t s = 1; s < s_n; ++s) max_l = std::max(max_l, l[s]);
      double sum = 0.0;
      for (int64_t s = 0; s < s_n; ++s) sum += std::exp(l[s] - max_l);
      float* out = o + (i * hq_n + hq) * dh;
      for (int64_t d = 0; d < dh; ++d) {
        double acc = 0.0;
        for (int64_t s = 0; s < s_n; ++s)
          acc += std::exp(l[s] - max_l) / sum * double(v[(s * hkv_n + g) * dh + d]);
        out[d] = float(acc);
      }
      if (probs)
        for (int64_t s = 0; s < s_n; ++s)
          probs[(hq * t + i) * s_n + s] = float(std::exp(l[s] - max_l) / sum);
    }
  }
}

}  // namespace moescope::kernels::ref
