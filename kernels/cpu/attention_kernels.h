// The attention kernels of one instruction-set variant (attention_variants.h): causal grouped-query
// attention with the Grok logit pipeline (grok-architecture.md 2.4 steps 3-6, 3.1): multiplier,
// soft-cap, Grok-2 temperature, mask, softmax in f32, weighted sum of values. Included once by
// each variant source, which names the namespace and the flags; the vector code is written once
// against a vector policy (simd.h: Vec8, Vec16) and runs at the variant's widest width.
//
// Shape legend: T query tokens at absolute positions p0 .. p0+T-1, S = p0 + T visible keys,
// Hq query heads, Hkv KV heads, Dh head dim, Gq = Hq / Hkv query heads per KV head. q/o:
// [T, Hq, Dh]; k/v cache: [S_max, Hkv, Dh]; probs: [Hq, T, S].
//
// Work item = one KV head with a block of query tokens (attention_variants.h): the Gq query heads
// that read the same KV head are done together, so each key and value row is loaded once for
// all of them. Items are ordered KV-head-major so that a thread's consecutive items read the same
// cache rows. One token at a time (decode; prefill on AVX2):
//   1. raw logits q.k for the keys s <= p (tiles of 2 heads x 4 keys), masked keys marked;
//   2. multiplier, soft-cap (vector tanh), temperature, 3. exp (vector) and the sum: one pass after
//      the row maximum of the raw logits (the transform is increasing); 4. the weighted sum of
//      value rows, kept in registers.
// A block of tokens (prefill on AVX-512, query_block): step 1 over key blocks transposed once,
// keys in the lanes; steps 2-3 per row; step 4 for 8 rows per pass over the value rows. Built as
// the avx512bf16 variant (the Bf16 and Int8 activations modes' prefill), steps 1 and 4 multiply
// bf16 pairs instead (weighted_values_pairs and its helpers).
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>

#include "kernels/cpu/attention_variants.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/simd.h"

#ifndef MOESCOPE_KERNELS_VARIANT
#error "attention_kernels.h is compiled by a variant source, which names its namespace"
#endif

namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT {

namespace {

constexpr float kMasked = -1e30f;  // logit of a masked key (J-model's value, after the soft-cap)

#if MOESCOPE_SIMD_AVX512
using Wide = simd::Vec16;  // the widest vector policy of this variant
#elif MOESCOPE_SIMD_AVX2
using Wide = simd::Vec8;
#endif

// Grok-2's length-dependent temperature for query position p: log2(p)/log2(L) past L, else 1.
float temperature(int64_t p, int64_t len) {
  if (len <= 0 || p <= len) return 1.0f;
  return float(std::log2(double(p)) / std::log2(double(len)));
}

// Step 1 for up to 4 query heads qs[0..nh) against keys [0, n): w[j][s] = q_j . k_s, or kMasked
// for an invalid key.
//
// Keys go in blocks of kKeyBlock (their rows stay in L1 while every head reads them), and inside
// a block in tiles of two heads x four keys: per vector of dimensions, 2 q and 4 k loads feed 8
// FMAs (one key against four heads took 5 loads per 4 FMAs, and a horizontal sum per key).
constexpr int64_t kKeyBlock = 32;

#if MOESCOPE_SIMD_AVX2
// The tiles with vector policy P; Dh a multiple of P's lanes. Returns the keys done (all of n).
template <class P>
int64_t raw_logit_tiles(const float* const* qs, int nh, const float* kg, int64_t kv_stride,
                        int64_t dh, int64_t n, float* const* w) {
  using V = typename P::V;
  for (int64_t s0 = 0; s0 < n; s0 += kKeyBlock) {
    const int64_t s1 = std::min(n, s0 + kKeyBlock);
    const int64_t tiles_end = s0 + (s1 - s0) / 4 * 4;
    for (int j0 = 0; j0 < nh; j0 += 2) {
      const bool two = j0 + 1 < nh;
      const float* qa = qs[j0];
      const float* qb = two ? qs[j0 + 1] : qa;  // a lone head computes twice, stores once
      for (int64_t s = s0; s < tiles_end; s += 4) {
        const float* k0 = kg + s * kv_stride;
        V a[4], b[4];
        for (int i = 0; i < 4; ++i) a[i] = b[i] = P::zero();
        for (int64_t d = 0; d < dh; d += P::kLanes) {
          const V qav = P::load(qa + d), qbv = P::load(qb + d);
          for (int i = 0; i < 4; ++i) {
            const V kv = P::load(k0 + i * kv_stride + d);
            a[i] = P::fmadd(qav, kv, a[i]);
            b[i] = P::fmadd(qbv, kv, b[i]);
          }
        }
        P::sum4(a[0], a[1], a[2], a[3], w[j0] + s);
        if (two) P::sum4(b[0], b[1], b[2], b[3], w[j0 + 1] + s);
      }
      for (int64_t s = tiles_end; s < s1; ++s)
        for (int j = j0; j < j0 + (two ? 2 : 1); ++j)
          w[j][s] = simd::dot_f32(qs[j], kg + s * kv_stride, dh);
    }
  }
  return n;
}
#endif

void raw_logits(const float* const* qs, int nh, const float* kg, int64_t kv_stride, int64_t dh,
                const uint8_t* key_valid, int64_t n, float* const* w) {
  int64_t done = 0;
#if MOESCOPE_SIMD_AVX512
  if (dh % simd::Vec16::kLanes == 0)
    done = raw_logit_tiles<simd::Vec16>(qs, nh, kg, kv_stride, dh, n, w);
#endif
#if MOESCOPE_SIMD_AVX2
  if (done == 0 && dh % simd::Vec8::kLanes == 0)
    done = raw_logit_tiles<simd::Vec8>(qs, nh, kg, kv_stride, dh, n, w);
#endif
  for (int64_t s = done; s < n; ++s)
    for (int j = 0; j < nh; ++j) w[j][s] = simd::dot_f32(qs[j], kg + s * kv_stride, dh);
  if (key_valid)
    for (int64_t s = 0; s < n; ++s)
      if (!key_valid[s])
        for (int j = 0; j < nh; ++j) w[j][s] = kMasked;
}

// l -> tau * cap * tanh(l * mult / cap) (or tau * l * mult).
float transform(float l, float mult, float cap, float tau) {
  l *= mult;
  if (cap > 0.0f) l = cap * std::tanh(l / cap);
  return l * tau;
}

// Step 2 on w[0, n): the transform, kMasked kept. Returns the maximum.
float transform_logits(float* w, int64_t n, float mult, float cap, float tau) {
  int64_t s = 0;
  float max_l = -std::numeric_limits<float>::infinity();
#if MOESCOPE_SIMD_AVX2
  using P = Wide;
  const P::V vm = P::set1(mult), vcap = P::set1(cap), vinv = P::set1(cap > 0.0f ? 1.0f / cap : 0),
             vtau = P::set1(tau), vmask = P::set1(kMasked);
  P::V vmax = P::set1(-std::numeric_limits<float>::infinity());
  for (; s + P::kLanes <= n; s += P::kLanes) {
    P::V l = P::load(w + s);
    const P::Mask masked = P::eq(l, vmask);
    l = P::mul(l, vm);
    if (cap > 0.0f) l = P::mul(vcap, P::tanh(P::mul(l, vinv)));
    l = P::select(masked, vmask, P::mul(l, vtau));
    P::store(w + s, l);
    vmax = P::max(vmax, l);
  }
  max_l = P::max_lane(vmax);
#endif
  for (; s < n; ++s) {
    if (w[s] == kMasked) {
      max_l = std::max(max_l, kMasked);
      continue;
    }
    w[s] = transform(w[s], mult, cap, tau);
    max_l = std::max(max_l, w[s]);
  }
  return max_l;
}

// Step 3 on w[0, n): w = exp(w - max); returns the sum. Masked keys give exactly 0.
float exp_and_sum(float* w, int64_t n, float max_l) {
  int64_t s = 0;
  float sum = 0.0f;
#if MOESCOPE_SIMD_AVX2
  using P = Wide;
  const P::V vmax = P::set1(max_l);
  P::V vsum = P::zero();
  for (; s + P::kLanes <= n; s += P::kLanes) {
    const P::V e = P::exp(P::sub(P::load(w + s), vmax));
    P::store(w + s, e);
    vsum = P::add(vsum, e);
  }
  sum = P::sum(vsum);
#endif
  for (; s < n; ++s) {
    w[s] = std::exp(w[s] - max_l);
    sum += w[s];
  }
  return sum;
}

// The maximum of w[0, n).
float max_of(const float* w, int64_t n) {
  int64_t s = 0;
  float m = -std::numeric_limits<float>::infinity();
#if MOESCOPE_SIMD_AVX2
  using P = Wide;
  P::V vm = P::set1(m);
  for (; s + P::kLanes <= n; s += P::kLanes) vm = P::max(vm, P::load(w + s));
  m = P::max_lane(vm);
#endif
  for (; s < n; ++s) m = std::max(m, w[s]);
  return m;
}

// Steps 2 and 3 in one pass, for a positive multiplier: the logit transform is increasing, so the
// largest transformed logit is the transform of the largest raw one (max_of, found first) and
// w = exp(f(w) - f(max_raw)) needs no second pass. Masked keys give exactly 0. Returns the sum.
float transform_exp_and_sum(float* w, int64_t n, float mult, float cap, float tau, float max_l) {
  int64_t s = 0;
  float sum = 0.0f;
#if MOESCOPE_SIMD_AVX2
  using P = Wide;
  const P::V vm = P::set1(mult), vcap = P::set1(cap), vinv = P::set1(cap > 0.0f ? 1.0f / cap : 0),
             vtau = P::set1(tau), vmask = P::set1(kMasked), vmax = P::set1(max_l);
  P::V vsum = P::zero();
  auto step = [&](float* ws) {
    P::V l = P::load(ws);
    const P::Mask masked = P::eq(l, vmask);
    l = P::mul(l, vm);
    if (cap > 0.0f) l = P::mul(vcap, P::tanh(P::mul(l, vinv)));
    const P::V e = P::zero_where(masked, P::exp(P::fmsub(l, vtau, vmax)));
    P::store(ws, e);
    vsum = P::add(vsum, e);
  };
  for (; s + P::kLanes <= n; s += P::kLanes) step(w + s);
  // The ragged end as one vector padded with masked keys (which give 0): scalar tanh and exp on
  // up to 15 keys per row cost about a third of the vector part at 256 keys.
  if (s < n) {
    alignas(64) float tail[P::kLanes];
    for (int64_t i = 0; i < P::kLanes; ++i) tail[i] = s + i < n ? w[s + i] : kMasked;
    step(tail);
    for (int64_t i = 0; s < n; ++i, ++s) w[s] = tail[i];
  }
  sum = P::sum(vsum);
#endif
  for (; s < n; ++s) {
    w[s] = w[s] == kMasked ? 0.0f : std::exp(transform(w[s], mult, cap, tau) - max_l);
    sum += w[s];
  }
  return sum;
}

#if MOESCOPE_SIMD_AVX2
// Step 4: out[Dh] = scale * sum_{s < n, w[s] != 0} w[s] v_s, for Dh = C vectors of policy P, in
// registers. Each accumulator is a chain of dependent FMAs (4 cycles each): with C < 8 chains
// per key set, even and odd keys get separate sets so that 8 chains are in flight.
template <class P, int C>
void weighted_values(const float* w, int64_t n, const float* vg, int64_t kv_stride, float scale,
                     float* out) {
  using V = typename P::V;
  constexpr int U = C < 8 ? 2 : 1;
  constexpr int64_t L = P::kLanes;
  V acc[U][C];
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c)
    for (int u = 0; u < U; ++u) acc[u][c] = P::zero();
  int64_t s = 0;
  for (; s + U <= n; s += U) {
#pragma GCC unroll 2
    for (int u = 0; u < U; ++u) {
      if (w[s + u] == 0.0f) continue;  // masked: never read the row
      const V ws = P::set1(w[s + u]);
      const float* vs = vg + (s + u) * kv_stride;
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[u][c] = P::fmadd(ws, P::load(vs + L * c), acc[u][c]);
    }
  }
  for (; s < n; ++s) {
    if (w[s] == 0.0f) continue;
    const V ws = P::set1(w[s]);
    const float* vs = vg + s * kv_stride;
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) acc[0][c] = P::fmadd(ws, P::load(vs + L * c), acc[0][c]);
  }
  const V vscale = P::set1(scale);
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c) {
    V a = acc[0][c];
    if constexpr (U == 2) a = P::add(a, acc[1][c]);
    P::store(out + L * c, P::mul(a, vscale));
  }
}

// Calls f.template operator()<C>() with C = Dh / P's lanes when that is 1, 2, 4, 8 or 16 (the
// register tiles of step 4); returns whether it did.
template <class P, class F>
bool with_head_vectors(int64_t dh, F&& f) {
  if (dh % P::kLanes != 0) return false;
  switch (dh / P::kLanes) {
    case 1:
      f.template operator()<1>();
      return true;
    case 2:
      f.template operator()<2>();
      return true;
    case 4:
      f.template operator()<4>();
      return true;
    case 8:
      f.template operator()<8>();
      return true;
    case 16:
      f.template operator()<16>();
      return true;
    default:
      return false;
  }
}

// Step 4 with policy P when Dh is 1, 2, 4, 8 or 16 of its vectors; false otherwise.
template <class P>
bool weighted_values_of(const float* w, int64_t n, const float* vg, int64_t kv_stride, int64_t dh,
                        float scale, float* out) {
  return with_head_vectors<P>(
      dh, [&]<int C>() { weighted_values<P, C>(w, n, vg, kv_stride, scale, out); });
}
#endif

// Step 4 for any Dh.
void weighted_values_any(const float* w, int64_t n, const float* vg, int64_t kv_stride, int64_t dh,
                         float scale, float* out) {
#if MOESCOPE_SIMD_AVX512
  if (weighted_values_of<simd::Vec16>(w, n, vg, kv_stride, dh, scale, out)) return;
#endif
#if MOESCOPE_SIMD_AVX2
  if (weighted_values_of<simd::Vec8>(w, n, vg, kv_stride, dh, scale, out)) return;
#endif
  for (int64_t d = 0; d < dh; ++d) out[d] = 0.0f;
  for (int64_t s = 0; s < n; ++s)
    if (w[s] != 0.0f) simd::axpy_f32(w[s], vg + s * kv_stride, out, dh);
  for (int64_t d = 0; d < dh; ++d) out[d] *= scale;
}

// Steps 2-3 for one query row whose raw logits w[0, n) are in place (masked keys kMasked): w
// becomes exp(logit - max), and the returned factor 1 / sum normalises it. When every visible key
// is masked, all S logits are -1e30 alike and the reference's softmax is uniform over all S keys,
// including those past p: then w[0, S) is that distribution and the factor is 0.
float softmax_row(const AttentionJob& job, float* w, int64_t n, float tau) {
  const AttentionParams& params = job.params;
  const int64_t s_n = job.p0 + job.t;
  const float mult = params.logit_multiplier, cap = params.softcap;
  // One pass when the transform is increasing (every Grok config); else two.
  const bool one_pass = mult > 0.0f;
  const float max_l = one_pass ? max_of(w, n) : transform_logits(w, n, mult, cap, tau);
  if (max_l == kMasked) {
    for (int64_t s = 0; s < s_n; ++s) w[s] = 1.0f / float(s_n);
    return 0.0f;
  }
  return 1.0f / (one_pass
                     ? transform_exp_and_sum(w, n, mult, cap, tau, transform(max_l, mult, cap, tau))
                     : exp_and_sum(w, n, max_l));
}

// With probs, the row's exp(logit - max) scaled by inv into probabilities, zero past n.
void store_probs(const AttentionJob& job, float* w, int64_t n, float inv) {
  if (!job.probs || inv == 0.0f) return;
  for (int64_t s = 0; s < n; ++s) w[s] *= inv;
  for (int64_t s = n; s < job.p0 + job.t; ++s) w[s] = 0.0f;
}

// Steps 2-4 for one query row: the softmax over w[0, n) and the weighted sum of the value rows
// into out; with probs, w becomes the row of probabilities.
void finish_row(const AttentionJob& job, float* w, int64_t n, float tau, const float* vg,
                float* out) {
  const int64_t dh = job.params.head_dim, kv_stride = job.params.n_kv_heads * dh;
  const float inv = softmax_row(job, w, n, tau);
  if (inv == 0.0f) {  // all masked: uniform over all S keys
    weighted_values_any(w, job.p0 + job.t, vg, kv_stride, dh, 1.0f, out);
    return;
  }
  weighted_values_any(w, n, vg, kv_stride, dh, inv, out);
  store_probs(job, w, n, inv);
}

// Row r of a work item: query token tq0 + r / Gq, head r % Gq of KV head g.
struct QueryRow {
  const float* q;  // [Dh]
  float* w;        // [S]: logits, then probabilities when kept
  float* out;      // [Dh]
  int64_t p;       // absolute position
};

QueryRow query_row(const AttentionJob& job, int64_t g, int64_t tq0, int64_t r, float* scratch) {
  const AttentionParams& params = job.params;
  const int64_t hq_n = params.n_q_heads, dh = params.head_dim;
  const int64_t group = hq_n / params.n_kv_heads, s_n = job.p0 + job.t;
  const int64_t tq = tq0 + r / group, hq = g * group + r % group;
  QueryRow row;
  row.q = job.q + (tq * hq_n + hq) * dh;
  row.w = job.probs ? job.probs + (hq * job.t + tq) * s_n : scratch + r * s_n;
  row.out = job.o + (tq * hq_n + hq) * dh;
  row.p = job.p0 + tq;
  return row;
}

// One query token (decode, or a variant without vectors): its Gq heads 4 at a time over the keys.
void one_token(const AttentionJob& job, int64_t g, int64_t tq, float* scratch) {
  const AttentionParams& params = job.params;
  const int64_t dh = params.head_dim, kv_stride = params.n_kv_heads * dh;
  const int64_t group = params.n_q_heads / params.n_kv_heads;
  const int64_t p = job.p0 + tq;  // absolute position of this query
  const int64_t n = p + 1;        // keys it may see; keys past p are masked and never read
  const float* kg = job.k + g * dh;
  const float* vg = job.v + g * dh;
  const float tau = temperature(p, params.temperature_len);
  for (int64_t j0 = 0; j0 < group; j0 += 4) {
    const int nh = int(std::min<int64_t>(4, group - j0));
    const float* qs[4];
    float* w[4];
    float* out[4];
    for (int j = 0; j < nh; ++j) {
      const QueryRow row = query_row(job, g, tq, j0 + j, scratch);
      qs[j] = row.q;
      w[j] = row.w;
      out[j] = row.out;
    }
    raw_logits(qs, nh, kg, kv_stride, dh, job.key_valid, n, w);
    for (int j = 0; j < nh; ++j) finish_row(job, w[j], n, tau, vg, out[j]);
  }
}

#if MOESCOPE_SIMD_AVX512  // the AVX2 variant takes prefill one token at a time (attention.cpp)
// Rows of a block whose logits one pass over a transposed key block computes together.
constexpr int kBlockRows = 8;

// Step 4 for nr rows at once: out_r[Dh] = scale_r * sum_{s < n} w_r[s] v_s, Dh = C vectors of
// P, rows R at a time so that each value row is loaded once for R rows (per row, the value rows
// came from L2 for every query). Weights are zero past a row's own keys; a key whose weight is
// zero in every row is skipped, so a masked key's row is never read.
template <class P, int C, int R>
void weighted_values_group(const float* const* w, int nr, int64_t n, const float* vg,
                           int64_t kv_stride, const float* scale, float* const* out) {
  using V = typename P::V;
  constexpr int64_t L = P::kLanes;
  for (int r0 = 0; r0 < nr; r0 += R) {
    const int m = std::min(R, nr - r0);
    const float* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = w[r0 + std::min(r, m - 1)];
    V acc[R][C];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[r][c] = P::zero();
    for (int64_t s = 0; s < n; ++s) {
      // The weights' bits: a weight is +0 exactly where it is skipped (exp never gives -0), and
      // an integer OR is cheaper than a float compare per row.
      uint32_t any = 0;
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) any |= std::bit_cast<uint32_t>(wr[r][s]);
      if (!any) continue;
      const float* vs = vg + s * kv_stride;
      V v[C];
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) v[c] = P::load(vs + L * c);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const V ws = P::set1(wr[r][s]);
#pragma GCC unroll 16
        for (int c = 0; c < C; ++c) acc[r][c] = P::fmadd(ws, v[c], acc[r][c]);
      }
    }
    for (int r = 0; r < m; ++r) {
      const V vscale = P::set1(scale[r0 + r]);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) P::store(out[r0 + r] + L * c, P::mul(acc[r][c], vscale));
    }
  }
}

// Step 4 for several rows: weighted_values_group with as many rows at once as the registers hold
// (about 16 accumulators), for Dh = 1, 2, 4, 8 or 16 vectors of P; null for other head dims.
using ValuesRowsFn = void (*)(const float* const* w, int nr, int64_t n, const float* vg,
                              int64_t kv_stride, const float* scale, float* const* out);

template <class P>
ValuesRowsFn weighted_values_rows(int64_t dh) {
  constexpr int kAcc = P::kLanes == 16 ? 16 : 8;
  ValuesRowsFn fn = nullptr;
  with_head_vectors<P>(dh,
                       [&]<int C>() { fn = weighted_values_group<P, C, std::max(1, kAcc / C)>; });
  return fn;
}

// kt[d * L + l] = key l's element d for the cnt keys from k (rows kv_stride apart), zero for the
// keys past cnt: a full block in 8 x 8 transposes when Dh is a multiple of 8 (a scalar copy cost
// about a third of step 1's products at Dh = 64).
template <int64_t L>
void transpose_keys(const float* k, int64_t kv_stride, int64_t dh, int64_t cnt, float* kt) {
  if (cnt == L && L % 8 == 0 && dh % 8 == 0) {
    for (int64_t l0 = 0; l0 < L; l0 += 8)
      for (int64_t d0 = 0; d0 < dh; d0 += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(k + (l0 + i) * kv_stride + d0);
        simd::transpose8x8(r);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (d0 + i) * L + l0, r[i]);
      }
    return;
  }
  for (int64_t l = 0; l < L; ++l) {
    const float* key = k + l * kv_stride;
    for (int64_t d = 0; d < dh; ++d) kt[d * L + l] = l < cnt ? key[d] : 0.0f;
  }
}

#if defined(__AVX512BF16__)
// ---- Products in bf16 (the avx512bf16 variant: prefill in the Bf16 and Int8 activations modes) --
//
// Steps 1 and 4 multiply bf16 pairs with vdpbf16ps into f32 sums: two products per lane per
// instruction, half the instructions of the f32 FMAs. Only the factors are rounded (q, k, the
// softmax's exp(logit - max) weights and v, to nearest even: relative error up to 2^-9 each, as
// the matmuls' x in these modes); the soft-cap, the softmax and every sum stay f32.

// Lane l: a[l] rounded to bf16 in its low half, b[l] in its high half (vdpbf16ps's pair order).
inline __m512i bf16_pairs(__m512 a, __m512 b) {
  const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(a));
  const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(b));
  return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// x[0, n) rounded to bf16 in place order: pair i = (x[2i], x[2i+1]) is word i of out, which holds
// (n + 15) / 16 * 8 words (the pad zero).
inline void round_to_pairs(const float* x, int64_t n, uint32_t* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i / 2),
                        (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

// Words per row of round_to_pairs(n).
inline int64_t pair_words(int64_t n) {
  return (n + 15) / 16 * 8;
}

// vp[s2 * Dh + d] = the pair (v_{2 s2}[d], v_{2 s2 + 1}[d]) for the keys [0, n), a key past n or
// masked in key_valid as zero (its weight is zero in every row, but 0 * NaN is not 0).
inline void value_pairs(const float* vg, int64_t kv_stride, int64_t dh, int64_t n,
                        const uint8_t* key_valid, uint32_t* vp) {
  auto row = [&](int64_t s, int64_t d) {
    const bool on = s < n && (!key_valid || key_valid[s]);
    return on ? _mm512_loadu_ps(vg + s * kv_stride + d) : _mm512_setzero_ps();
  };
  for (int64_t s = 0; s < n; s += 2)
    for (int64_t d = 0; d < dh; d += 16)
      _mm512_storeu_si512(vp + (s / 2) * dh + d, bf16_pairs(row(s, d), row(s + 1, d)));
}

// Step 4 for nr rows in bf16 pairs: out_r[Dh] = scale_r * sum_s w_r[s] v_s, Dh = 16 C, from the
// rows' weights as pairs (wp[r], round_to_pairs) and the value pairs (value_pairs) of keys
// [0, n), R rows at a time; a key pair whose weights are zero in every row is skipped.
template <int C, int R>
void weighted_values_pairs(const uint32_t* const* wp, int nr, int64_t n, const uint32_t* vp,
                           const float* scale, float* const* out) {
  constexpr int64_t kDh = 16 * C;
  for (int r0 = 0; r0 < nr; r0 += R) {
    const int m = std::min(R, nr - r0);
    const uint32_t* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = wp[r0 + std::min(r, m - 1)];
    __m512 acc[R][C];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t s2 = 0; s2 < (n + 1) / 2; ++s2) {
      uint32_t any = 0;
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) any |= wr[r][s2];
      if (!any) continue;
      __m512bh v[C];
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) v[c] = (__m512bh)_mm512_loadu_si512(vp + s2 * kDh + 16 * c);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512bh ws = (__m512bh)_mm512_set1_epi32(int(wr[r][s2]));
#pragma GCC unroll 16
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], ws, v[c]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      if (r >= m) break;
      const __m512 vscale = _mm512_set1_ps(scale[r0 + r]);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c)
        _mm512_storeu_ps(out[r0 + r] + 16 * c, _mm512_mul_ps(acc[r][c], vscale));
    }
  }
}

using ValuesPairsFn = void (*)(const uint32_t* const* wp, int nr, int64_t n, const uint32_t* vp,
                               const float* scale, float* const* out);

// weighted_values_pairs with about 16 accumulators, for Dh = 16, 32, 64 or 128; null otherwise.
inline ValuesPairsFn values_pairs_for(int64_t dh) {
  switch (dh) {
    case 16:
      return weighted_values_pairs<1, 8>;
    case 32:
      return weighted_values_pairs<2, 8>;
    case 64:
      return weighted_values_pairs<4, 4>;
    case 128:
      return weighted_values_pairs<8, 2>;
  }
  return nullptr;
}
#endif

// A block of query tokens [tq0, tq1) (rows: every token's Gq heads): step 1 for all rows at once,
// key block by key block. Each block of P::kLanes keys is transposed once, kt[d][l] = K[s0+l][d],
// and every row's logits for it are Dh FMAs of q[d] (broadcast) against kt[d]: the keys lie in
// the lanes, so there is no horizontal sum per key (the per-token tiles spent about as much on
// those sums as on the products at Dh = 32). Then steps 2-4 row by row.
template <class P>
void query_block(const AttentionJob& job, int64_t g, int64_t tq0, int64_t tq1, float* scratch) {
  using V = typename P::V;
  constexpr int64_t L = P::kLanes;
  const AttentionParams& params = job.params;
  const int64_t dh = params.head_dim, kv_stride = params.n_kv_heads * dh;
  const int64_t group = params.n_q_heads / params.n_kv_heads, s_n = job.p0 + job.t;
  const int64_t rows = (tq1 - tq0) * group;
  const int64_t n_max = job.p0 + tq1;  // keys the block's last token sees
  const float* kg = job.k + g * dh;
  const float* vg = job.v + g * dh;
  float* kt = thread_scratch(ScratchSlot::AttnKeysT, size_t(dh * L));
#if defined(__AVX512BF16__)
  // Products in bf16 pairs (above) where step 4 has a register tile for Dh; in one buffer: the
  // rows' q [rows][qw], a key block [Dh / 2][L], the value rows [(n_max + 1) / 2][Dh] and up to
  // kBlockRows rows' weights [kBlockRows][ww], all as pair words.
  const ValuesPairsFn values_pairs = L == 16 ? values_pairs_for(dh) : nullptr;
  const int64_t qw = pair_words(dh), ww = pair_words(n_max);
  uint32_t *qp = nullptr, *kp = nullptr, *vp = nullptr, *wp = nullptr;
  if (values_pairs) {
    const int64_t words = rows * qw + dh / 2 * L + (n_max + 1) / 2 * dh + kBlockRows * ww;
    qp = reinterpret_cast<uint32_t*>(thread_scratch(ScratchSlot::AttnPairs, size_t(words)));
    kp = qp + rows * qw;
    vp = kp + dh / 2 * L;
    wp = vp + (n_max + 1) / 2 * dh;
    for (int64_t r = 0; r < rows; ++r)
      round_to_pairs(query_row(job, g, tq0, r, scratch).q, dh, qp + r * qw);
  }
#endif
  for (int64_t s0 = 0; s0 < n_max; s0 += L) {
    const int64_t cnt = std::min(L, n_max - s0);
    transpose_keys<L>(kg + s0 * kv_stride, kv_stride, dh, cnt, kt);
#if defined(__AVX512BF16__)
    if (values_pairs)
      for (int64_t p = 0; p < dh / 2; ++p)
        _mm512_storeu_si512(kp + p * L, bf16_pairs(_mm512_loadu_ps(kt + 2 * p * L),
                                                   _mm512_loadu_ps(kt + (2 * p + 1) * L)));
#endif
    // Rows whose token sees key s0: tokens from p0 + tq >= s0 on (the later rows of the block).
    const int64_t first = (std::max(tq0, s0 - job.p0) - tq0) * group;
    const int64_t keep = std::min(L, s_n - s0);  // logits that fit in a row of S
    for (int64_t r0 = first; r0 < rows; r0 += kBlockRows) {
      const int64_t nr = std::min<int64_t>(kBlockRows, rows - r0);
      const float* q[kBlockRows];
      float* w[kBlockRows];
      for (int r = 0; r < kBlockRows; ++r) {
        const QueryRow row = query_row(job, g, tq0, r0 + std::min<int64_t>(r, nr - 1), scratch);
        q[r] = row.q;
        w[r] = row.w;
      }
      V acc[kBlockRows];
#pragma GCC unroll 8
      for (int r = 0; r < kBlockRows; ++r) acc[r] = P::zero();
#if defined(__AVX512BF16__)
      if (values_pairs) {
        const uint32_t* qr[kBlockRows];
        for (int r = 0; r < kBlockRows; ++r) qr[r] = qp + (r0 + std::min<int64_t>(r, nr - 1)) * qw;
        for (int64_t p = 0; p < dh / 2; ++p) {
          const __m512bh kv = (__m512bh)_mm512_loadu_si512(kp + p * L);
#pragma GCC unroll 8
          for (int r = 0; r < kBlockRows; ++r)
            acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_set1_epi32(int(qr[r][p])), kv);
        }
      } else
#endif
        for (int64_t d = 0; d < dh; ++d) {
          const V kv = P::load(kt + d * L);
#pragma GCC unroll 8
          for (int r = 0; r < kBlockRows; ++r) acc[r] = P::fmadd(P::set1(q[r][d]), kv, acc[r]);
        }
      for (int r = 0; r < nr; ++r) {
        if (keep == L) {
          P::store(w[r] + s0, acc[r]);
        } else {
          alignas(64) float tmp[L];
          P::store(tmp, acc[r]);
          for (int64_t l = 0; l < keep; ++l) w[r][s0 + l] = tmp[l];
        }
      }
    }
  }
  // Steps 2-3 row by row; step 4 for groups of rows at once (weighted_values_rows), over keys
  // [0, n_max) with each row's weights zero past its own keys.
  const ValuesRowsFn values_rows = weighted_values_rows<P>(dh);
#if defined(__AVX512BF16__)
  if (values_pairs) value_pairs(vg, kv_stride, dh, n_max, job.key_valid, vp);
#endif
  QueryRow pending[kBlockRows];  // rows waiting for step 4
  float inv[kBlockRows];
  int n_pending = 0;
  auto flush = [&] {
    if (n_pending == 0) return;
    const float* w[kBlockRows];
    float* out[kBlockRows];
    for (int i = 0; i < n_pending; ++i) {
      w[i] = pending[i].w;
      out[i] = pending[i].out;
    }
#if defined(__AVX512BF16__)
    if (values_pairs) {
      const uint32_t* wr[kBlockRows];
      for (int i = 0; i < n_pending; ++i) {
        round_to_pairs(w[i], n_max, wp + i * ww);
        wr[i] = wp + i * ww;
      }
      values_pairs(wr, n_pending, n_max, vp, inv, out);
    } else
#endif
      values_rows(w, n_pending, n_max, vg, kv_stride, inv, out);
    for (int i = 0; i < n_pending; ++i) store_probs(job, pending[i].w, pending[i].p + 1, inv[i]);
    n_pending = 0;
  };
  for (int64_t r = 0; r < rows; ++r) {
    const QueryRow row = query_row(job, g, tq0, r, scratch);
    const int64_t n = row.p + 1;
    if (job.key_valid)
      for (int64_t s = 0; s < n; ++s)
        if (!job.key_valid[s]) row.w[s] = kMasked;
    const float tau = temperature(row.p, params.temperature_len);
    if (!values_rows) {
      finish_row(job, row.w, n, tau, vg, row.out);
      continue;
    }
    const float f = softmax_row(job, row.w, n, tau);
    if (f == 0.0f) {  // all masked: uniform over all S keys
      weighted_values_any(row.w, s_n, vg, kv_stride, dh, 1.0f, row.out);
      continue;
    }
    for (int64_t s = n; s < n_max; ++s) row.w[s] = 0.0f;  // no weight past the row's keys
    pending[n_pending] = row;
    inv[n_pending++] = f;
    if (n_pending == kBlockRows) flush();
  }
  flush();
}
#endif

}  // namespace

void attention_items(const AttentionJob& job, int64_t i0, int64_t i1) {
  const AttentionParams& params = job.params;
  const int64_t group = params.n_q_heads / params.n_kv_heads;
  const int64_t t = job.t, s_n = job.p0 + t, qb = job.query_block;
  const int64_t blocks = (t + qb - 1) / qb;
  // [rows, S] logits, when probs is not kept.
  float* scratch =
      job.probs ? nullptr : thread_scratch(ScratchSlot::AttnLogits, size_t(qb * group * s_n));
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t g = i / blocks, k = i % blocks;
    // Blocks from both ends in turn: later blocks see more keys (causal).
    const int64_t b = k % 2 == 0 ? k / 2 : blocks - 1 - k / 2;
    const int64_t tq0 = b * qb, tq1 = std::min(t, tq0 + qb);
#if MOESCOPE_SIMD_AVX512
    if (qb > 1) {
      query_block<Wide>(job, g, tq0, tq1, scratch);
      continue;
    }
#endif
    for (int64_t tq = tq0; tq < tq1; ++tq) one_token(job, g, tq, scratch);
  }
}

}  // namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT
