// Causal grouped-query attention over a KV cache with the Grok logit pipeline
// (grok-architecture.md 2.4 steps 3-6, 3.1): multiplier, soft-cap, Grok-2 temperature, mask,
// softmax in f32, weighted sum of values.
//
// Shape legend: T query tokens at absolute positions p0 .. p0+T-1, S = p0 + T visible keys,
// Hq query heads, Hkv KV heads, Dh head dim, Gq = Hq / Hkv query heads per KV head. q/o:
// [T, Hq, Dh]; k/v cache: [S_max, Hkv, Dh]; probs: [Hq, T, S].
//
// Work item = one (KV head, query token) pair: the Gq query heads that read the same KV head are
// done together, so each key and value row is loaded once for all of them. Items are ordered
// KV-head-major so that a thread's consecutive items read the same cache rows. Per item:
//   1. raw logits q.k for the keys s <= p (4 heads per pass over a key row), masked keys marked;
//   2. multiplier, soft-cap (vector tanh), temperature, 3. exp (vector) and the sum: one pass after
//      the row maximum of the raw logits (the transform is increasing); 4. the weighted sum of
//      value rows, kept in registers.
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

// Step 1 for up to 4 query heads qs[0..nh) against keys [0, n): w[j][s] = q_j . k_s, or kMasked
// for an invalid key.
//
// Keys go in blocks of kKeyBlock (their rows stay in L1 while every head reads them), and inside
// a block in tiles of two heads x four keys: per 8 dimensions, 2 q and 4 k loads feed 8 FMAs
// (one key against four heads took 5 loads per 4 FMAs, and a horizontal sum per key).
constexpr int64_t kKeyBlock = 32;

void raw_logits(const float* const* qs, int nh, const float* kg, int64_t kv_stride, int64_t dh,
                const uint8_t* key_valid, int64_t n, float* const* w) {
  int64_t done = 0;
#if MOESCOPE_SIMD_AVX2
  if (dh % 8 == 0) {
    for (int64_t s0 = 0; s0 < n; s0 += kKeyBlock) {
      const int64_t s1 = std::min(n, s0 + kKeyBlock);
      const int64_t tiles_end = s0 + (s1 - s0) / 4 * 4;
      for (int j0 = 0; j0 < nh; j0 += 2) {
        const bool two = j0 + 1 < nh;
        const float* qa = qs[j0];
        const float* qb = two ? qs[j0 + 1] : qa;  // a lone head computes twice, stores once
        for (int64_t s = s0; s < tiles_end; s += 4) {
          const float* k0 = kg + s * kv_stride;
          __m256 a[4], b[4];
          for (int i = 0; i < 4; ++i) a[i] = b[i] = _mm256_setzero_ps();
          for (int64_t d = 0; d < dh; d += 8) {
            const __m256 qav = _mm256_loadu_ps(qa + d), qbv = _mm256_loadu_ps(qb + d);
            for (int i = 0; i < 4; ++i) {
              const __m256 kv = _mm256_loadu_ps(k0 + i * kv_stride + d);
              a[i] = _mm256_fmadd_ps(qav, kv, a[i]);
              b[i] = _mm256_fmadd_ps(qbv, kv, b[i]);
            }
          }
          _mm_storeu_ps(w[j0] + s, simd::hsum4(a[0], a[1], a[2], a[3]));
          if (two) _mm_storeu_ps(w[j0 + 1] + s, simd::hsum4(b[0], b[1], b[2], b[3]));
        }
        for (int64_t s = tiles_end; s < s1; ++s)
          for (int j = j0; j < j0 + (two ? 2 : 1); ++j)
            w[j][s] = simd::dot_f32(qs[j], kg + s * kv_stride, dh);
      }
    }
    done = n;
  }
#endif
  for (int64_t s = done; s < n; ++s)
    for (int j = 0; j < nh; ++j) w[j][s] = simd::dot_f32(qs[j], kg + s * kv_stride, dh);
  if (key_valid)
    for (int64_t s = 0; s < n; ++s)
      if (!key_valid[s])
        for (int j = 0; j < nh; ++j) w[j][s] = kMasked;
}

// Step 2 on w[0, n): l -> tau * cap * tanh(l * mult / cap) (or tau * l * mult), kMasked kept.
// Returns the maximum.
float transform_logits(float* w, int64_t n, float mult, float cap, float tau) {
  int64_t s = 0;
  float max_l = -std::numeric_limits<float>::infinity();
#if MOESCOPE_SIMD_AVX2
  const __m256 vm = _mm256_set1_ps(mult), vcap = _mm256_set1_ps(cap),
               vinv = _mm256_set1_ps(cap > 0.0f ? 1.0f / cap : 0.0f), vtau = _mm256_set1_ps(tau),
               vmask = _mm256_set1_ps(kMasked);
  __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (; s + 8 <= n; s += 8) {
    __m256 l = _mm256_loadu_ps(w + s);
    const __m256 masked = _mm256_cmp_ps(l, vmask, _CMP_EQ_OQ);
    l = _mm256_mul_ps(l, vm);
    if (cap > 0.0f) l = _mm256_mul_ps(vcap, simd::tanh8(_mm256_mul_ps(l, vinv)));
    l = _mm256_blendv_ps(_mm256_mul_ps(l, vtau), vmask, masked);
    _mm256_storeu_ps(w + s, l);
    vmax = _mm256_max_ps(vmax, l);
  }
  alignas(32) float m[8];
  _mm256_store_ps(m, vmax);
  for (float v : m) max_l = std::max(max_l, v);
#endif
  for (; s < n; ++s) {
    if (w[s] == kMasked) {
      max_l = std::max(max_l, kMasked);
      continue;
    }
    float l = w[s] * mult;
    if (cap > 0.0f) l = cap * std::tanh(l / cap);
    w[s] = l * tau;
    max_l = std::max(max_l, w[s]);
  }
  return max_l;
}

// Step 3 on w[0, n): w = exp(w - max); returns the sum. Masked keys give exactly 0.
float exp_and_sum(float* w, int64_t n, float max_l) {
  int64_t s = 0;
  float sum = 0.0f;
#if MOESCOPE_SIMD_AVX2
  const __m256 vmax = _mm256_set1_ps(max_l);
  __m256 vsum = _mm256_setzero_ps();
  for (; s + 8 <= n; s += 8) {
    const __m256 e = simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(w + s), vmax));
    _mm256_storeu_ps(w + s, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  sum = simd::hsum(vsum);
#endif
  for (; s < n; ++s) {
    w[s] = std::exp(w[s] - max_l);
    sum += w[s];
  }
  return sum;
}

// Steps 2 and 3 in one pass, for a positive multiplier: the logit transform is increasing, so the
// largest transformed logit is the transform of the largest raw one (max_raw, found first) and
// w = exp(f(w) - f(max_raw)) needs no second pass. Masked keys give exactly 0. Returns the sum.
float transform(float l, float mult, float cap, float tau) {
  l *= mult;
  if (cap > 0.0f) l = cap * std::tanh(l / cap);
  return l * tau;
}

float max_of(const float* w, int64_t n) {
  int64_t s = 0;
  float m = -std::numeric_limits<float>::infinity();
#if MOESCOPE_SIMD_AVX2
  __m256 vm = _mm256_set1_ps(m);
  for (; s + 8 <= n; s += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(w + s));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vm);
  for (float v : lanes) m = std::max(m, v);
#endif
  for (; s < n; ++s) m = std::max(m, w[s]);
  return m;
}

float transform_exp_and_sum(float* w, int64_t n, float mult, float cap, float tau, float max_l) {
  int64_t s = 0;
  float sum = 0.0f;
#if MOESCOPE_SIMD_AVX2
  const __m256 vm = _mm256_set1_ps(mult), vcap = _mm256_set1_ps(cap),
               vinv = _mm256_set1_ps(cap > 0.0f ? 1.0f / cap : 0.0f), vtau = _mm256_set1_ps(tau),
               vmask = _mm256_set1_ps(kMasked), vmax = _mm256_set1_ps(max_l);
  __m256 vsum = _mm256_setzero_ps();
  for (; s + 8 <= n; s += 8) {
    __m256 l = _mm256_loadu_ps(w + s);
    const __m256 masked = _mm256_cmp_ps(l, vmask, _CMP_EQ_OQ);
    l = _mm256_mul_ps(l, vm);
    if (cap > 0.0f) l = _mm256_mul_ps(vcap, simd::tanh8(_mm256_mul_ps(l, vinv)));
    const __m256 e = _mm256_andnot_ps(masked, simd::exp8(_mm256_fmsub_ps(l, vtau, vmax)));
    _mm256_storeu_ps(w + s, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  sum = simd::hsum(vsum);
#endif
  for (; s < n; ++s) {
    w[s] = w[s] == kMasked ? 0.0f : std::exp(transform(w[s], mult, cap, tau) - max_l);
    sum += w[s];
  }
  return sum;
}

// Step 4: out[Dh] = scale * sum_{s < n, w[s] != 0} w[s] v_s, for Dh = 8 C, in registers. Each
// accumulator is a chain of dependent FMAs (4 cycles each): with C < 8 chains per key set, even
// and odd keys get separate sets so that 8 chains are in flight.
template <int C>
void weighted_values(const float* w, int64_t n, const float* vg, int64_t kv_stride, float scale,
                     float* out) {
#if MOESCOPE_SIMD_AVX2
  constexpr int U = C < 8 ? 2 : 1;
  __m256 acc[U][C];
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c)
    for (int u = 0; u < U; ++u) acc[u][c] = _mm256_setzero_ps();
  int64_t s = 0;
  for (; s + U <= n; s += U) {
#pragma GCC unroll 2
    for (int u = 0; u < U; ++u) {
      if (w[s + u] == 0.0f) continue;  // masked: never read the row
      const __m256 ws = _mm256_set1_ps(w[s + u]);
      const float* vs = vg + (s + u) * kv_stride;
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c)
        acc[u][c] = _mm256_fmadd_ps(ws, _mm256_loadu_ps(vs + 8 * c), acc[u][c]);
    }
  }
  for (; s < n; ++s) {
    if (w[s] == 0.0f) continue;
    const __m256 ws = _mm256_set1_ps(w[s]);
    const float* vs = vg + s * kv_stride;
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c)
      acc[0][c] = _mm256_fmadd_ps(ws, _mm256_loadu_ps(vs + 8 * c), acc[0][c]);
  }
  const __m256 vscale = _mm256_set1_ps(scale);
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c) {
    __m256 a = acc[0][c];
    if constexpr (U == 2) a = _mm256_add_ps(a, acc[1][c]);
    _mm256_storeu_ps(out + 8 * c, _mm256_mul_ps(a, vscale));
  }
#endif
}

// Step 4 for any Dh.
void weighted_values_any(const float* w, int64_t n, const float* vg, int64_t kv_stride, int64_t dh,
                         float scale, float* out) {
#if MOESCOPE_SIMD_AVX2
  switch (dh) {
    case 32:
      return weighted_values<4>(w, n, vg, kv_stride, scale, out);
    case 64:
      return weighted_values<8>(w, n, vg, kv_stride, scale, out);
    case 128:
      return weighted_values<16>(w, n, vg, kv_stride, scale, out);
    default:
      break;
  }
#endif
  std::fill(out, out + dh, 0.0f);
  for (int64_t s = 0; s < n; ++s)
    if (w[s] != 0.0f) simd::axpy_f32(w[s], vg + s * kv_stride, out, dh);
  for (int64_t d = 0; d < dh; ++d) out[d] *= scale;
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

  auto body = [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> scratch;  // [Gq, S] logits, when probs is not kept
    if (!probs && scratch.size() < size_t(group * s_n)) scratch.resize(size_t(group * s_n));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = i / t, tq = i % t;
      const int64_t p = p0 + tq;  // absolute position of this query
      const int64_t n = p + 1;    // keys it may see; keys past p are masked and never read
      const float* kg = k + g * dh;
      const float* vg = v + g * dh;
      const float tau = temperature(p, params.temperature_len);
      for (int64_t j0 = 0; j0 < group; j0 += 4) {
        const int nh = int(std::min<int64_t>(4, group - j0));
        const float* qs[4];
        float* w[4];
        for (int j = 0; j < nh; ++j) {
          const int64_t hq = g * group + j0 + j;
          qs[j] = q + (tq * hq_n + hq) * dh;
          w[j] = probs ? probs + (hq * t + tq) * s_n : scratch.data() + (j0 + j) * s_n;  // [S]
        }
        raw_logits(qs, nh, kg, kv_stride, dh, key_valid, n, w);
        for (int j = 0; j < nh; ++j) {
          const int64_t hq = g * group + j0 + j;
          float* out = o + (tq * hq_n + hq) * dh;
          const float mult = params.logit_multiplier, cap = params.softcap;
          // One pass when the transform is increasing (every Grok config); else two.
          const bool one_pass = mult > 0.0f;
          const float max_l =
              one_pass ? max_of(w[j], n) : transform_logits(w[j], n, mult, cap, tau);
          if (max_l == kMasked) {
            // Every visible key is masked: all S logits are -1e30 alike and the reference's
            // softmax is uniform over all S keys, including those past p.
            std::fill(w[j], w[j] + s_n, 1.0f / float(s_n));
            weighted_values_any(w[j], s_n, vg, kv_stride, dh, 1.0f, out);
            continue;
          }
          const float inv =
              1.0f / (one_pass ? transform_exp_and_sum(w[j], n, mult, cap, tau,
                                                       transform(max_l, mult, cap, tau))
                               : exp_and_sum(w[j], n, max_l));
          weighted_values_any(w[j], n, vg, kv_stride, dh, inv, out);
          if (probs) {
            for (int64_t s = 0; s < n; ++s) w[j][s] *= inv;
            std::fill(w[j] + n, w[j] + s_n, 0.0f);
          }
        }
      }
    }
  };

  const int64_t items = hkv_n * t;
  if (!pool || hq_n * t * s_n * dh < kMinParallel)
    body(0, items);
  else
    pool->parallel_for(items, body);
}

}  // namespace moescope::kernels
