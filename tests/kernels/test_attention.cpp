// attention against attention_ref for decode (T = 1, p0 > 0), prefill (T > 1, p0 = 0) and chunked
// prefill (T > 1, p0 > 0), with GQA, the soft-cap at large logits, the Grok-2 temperature past
// L, key_valid masking, 1 and 3 threads, with and without probs, on every instruction-set variant
// this CPU runs (isa.h); plus hand-computed cases that pin the order multiplier -> soft-cap ->
// temperature -> mask -> softmax.
//
// Shape legend: T queries, p0 first query position, S = p0 + T keys, S_max cache rows, Hq/Hkv
// heads, Dh head dim.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/reference/reference.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

struct Case {
  int64_t hq, hkv, dh;
  int64_t t, p0;
  float softcap;
  int64_t temperature_len;
  bool mask_keys;                // random key_valid with ~1/4 masked
  float q_scale;                 // multiplies q: large values drive the soft-cap
  float multiplier_sign = 1.0f;  // -1: a decreasing logit transform (the kernel's two-pass path)
};

struct Inputs {
  std::vector<float> q, k, v;  // [T, Hq, Dh], [S_max, Hkv, Dh] x 2
  std::vector<uint8_t> valid;  // [S] or empty
};

Inputs make_inputs(const Case& c, uint32_t seed) {
  const int64_t s = c.p0 + c.t, s_max = s + 3;
  Inputs in;
  in.q = test::random_floats(size_t(c.t * c.hq * c.dh), seed, -c.q_scale, c.q_scale);
  in.k = test::random_floats(size_t(s_max * c.hkv * c.dh), seed + 1);
  in.v = test::random_floats(size_t(s_max * c.hkv * c.dh), seed + 2);
  if (c.q_scale > 1.0f) {
    // Large logits would amplify the f32 rounding of q.k (a property of f32, not of the kernel)
    // past the kernel tolerance. On this grid (integer q, k in steps of 1/16) every product and
    // partial sum is exact in f32, so the comparison isolates the cap and the softmax.
    for (float& x : in.q) x = std::round(x);
    for (float& x : in.k) x = std::round(x * 16.0f) / 16.0f;
  }
  // Cache rows past S must never be read: make them poison.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = size_t(s * c.hkv * c.dh); i < in.k.size(); ++i) in.k[i] = in.v[i] = nan;
  if (c.mask_keys) {
    std::vector<float> r = test::random_floats(size_t(s), seed + 3, 0.0f, 1.0f);
    for (float u : r) in.valid.push_back(u < 0.25f ? 0 : 1);
    in.valid[0] = 1;  // every query keeps at least one key
  }
  return in;
}

AttentionParams params_of(const Case& c) {
  AttentionParams p;
  p.n_q_heads = c.hq;
  p.n_kv_heads = c.hkv;
  p.head_dim = c.dh;
  p.logit_multiplier = c.multiplier_sign / std::sqrt(float(c.dh));
  p.softcap = c.softcap;
  p.temperature_len = c.temperature_len;
  return p;
}

void check(const Case& c, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "Hq=" << c.hq << " Hkv=" << c.hkv << " Dh=" << c.dh
                                  << " T=" << c.t << " p0=" << c.p0 << " softcap=" << c.softcap
                                  << " L=" << c.temperature_len << " mask=" << c.mask_keys
                                  << " q_scale=" << c.q_scale);
  const Inputs in = make_inputs(c, seed);
  const AttentionParams params = params_of(c);
  const int64_t s = c.p0 + c.t;
  const uint8_t* valid = in.valid.empty() ? nullptr : in.valid.data();
  std::vector<float> o_want(in.q.size()), p_want(size_t(c.hq * c.t * s));
  ref::attention_ref(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params, o_want.data(),
                     p_want.data());
  if (c.softcap > 0 && c.q_scale >= 100) {
    // The soft-cap cases must really reach past the cap: some |q.k.mult| > 60.
    double max_l = 0;
    for (int64_t i = 0; i < c.t; ++i)
      for (int64_t h = 0; h < c.hq; ++h)
        for (int64_t key = 0; key <= c.p0 + i; ++key) {
          double dot = 0;
          for (int64_t d = 0; d < c.dh; ++d)
            dot += double(in.q[size_t((i * c.hq + h) * c.dh + d)]) *
                   in.k[size_t((key * c.hkv + h / (c.hq / c.hkv)) * c.dh + d)];
          max_l = std::max(max_l, std::fabs(dot * params.logit_multiplier));
        }
    EXPECT_GT(max_l, 60.0);
  }
  const auto tol = tolerance_for(DType::F32, Level::Kernel);
  for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
    for (int threads : {1, 3}) {
      if (isa > detected_isa()) continue;
      ScopedIsa scoped(isa);
      SCOPED_TRACE(testing::Message() << isa_name(isa) << " threads=" << threads);
      ThreadPool pool(threads);
      std::vector<float> o(in.q.size()), probs(p_want.size(), -1.0f);
      attention(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params, o.data(),
                probs.data(), &pool);
      EXPECT_TRUE(all_close(o.data(), o_want.data(), o.size(), tol, "attention o"));
      EXPECT_TRUE(all_close(probs.data(), p_want.data(), probs.size(), tol, "attention probs"));
      // Each row of probs is a distribution over the visible, valid keys.
      for (int64_t h = 0; h < c.hq; ++h)
        for (int64_t i = 0; i < c.t; ++i) {
          const float* row = probs.data() + (h * c.t + i) * s;
          double sum = 0;
          for (int64_t key = 0; key < s; ++key) {
            sum += row[key];
            const bool masked = key > c.p0 + i || (valid && !valid[key]);
            if (masked) {
              EXPECT_EQ(row[key], 0.0f) << "head " << h << " query " << i << " key " << key;
            }
          }
          EXPECT_NEAR(sum, 1.0, 1e-5) << "head " << h << " query " << i;
        }
      // Without probs the output is the same.
      std::vector<float> o2(in.q.size());
      attention(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params, o2.data(), nullptr,
                &pool);
      EXPECT_TRUE(all_close(o2.data(), o_want.data(), o2.size(), tol, "attention o, no probs"));
    }
}

TEST(Attention, MatchesReference) {
  const Case cases[] = {
      // Grok-like GQA head geometry, decode / prefill / chunked prefill.
      {4, 2, 128, 1, 9, 0, 0, false, 1},
      {4, 2, 128, 7, 0, 0, 0, false, 1},
      {4, 2, 128, 5, 11, 0, 0, false, 1},
      {8, 1, 16, 1, 0, 0, 0, false, 1},
      // Odd head dim (dot-product tails), 3 query heads per KV head, S not a multiple of 8.
      {6, 2, 33, 13, 0, 0, 0, false, 1},
      {6, 2, 33, 3, 20, 0, 0, true, 1},
      // Soft-cap with |q.k.mult| well past 60 (q scaled by 200: q.k.mult has a standard
      // deviation of about 200/3 = 67).
      {4, 2, 64, 6, 3, 30, 0, false, 200},
      {4, 4, 128, 1, 30, 30, 0, false, 200},
      // Grok-2 temperature with L = 4: queries at positions 3..10 straddle L.
      {4, 2, 32, 8, 3, 0, 4, false, 1},
      {4, 2, 32, 1, 12, 30, 4, true, 10},
      {2, 1, 16, 6, 0, 30, 4, true, 10},
      // Everything at once, prefill.
      {8, 2, 128, 17, 0, 30, 4, true, 200},
      // Several blocks of 16 query tokens after a cached prefix (chunked prefill), one KV head.
      {4, 1, 32, 40, 5, 30, 0, true, 10},
      // Several key blocks of 32 with ragged ends, a lone head after the pairs (3 per KV head).
      {6, 2, 32, 2, 101, 30, 0, true, 10},
      {4, 1, 64, 1, 70, 0, 0, false, 1},
      // A negative multiplier: the transform decreases, so the maximum comes after it.
      {4, 2, 32, 3, 40, 30, 0, true, 10, -1.0f},
      {4, 2, 32, 3, 40, 0, 4, false, 1, -1.0f},
  };
  uint32_t seed = 1;
  for (const Case& c : cases) check(c, seed += 10);
}

// The Bf16 and Int8 activations modes (precision.h) multiply prefill's q.k and w.v in bf16 pairs
// where the CPU has AVX512-BF16: within the bf16 kernel tolerance of the reference, probabilities
// included, and visibly not the f32 result for a head dim with pairs (16, 32, 64, 128); a head
// dim without (33) and decode (T = 1) give the f32 mode's result bit for bit.
TEST(Attention, PrefillProductsInBf16PairsInTheReducedModes) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  ScopedIsa isa(Isa::Avx512);
  const Case cases[] = {
      {16, 4, 64, 40, 0, 30, 0, false, 1},  // tinyC's heads: 3 query blocks
      {8, 2, 32, 33, 0, 30, 0, true, 3},    // masked keys, ragged key blocks
      {4, 1, 128, 21, 9, 30, 4, true, 2},   // chunked prefill, temperature
      {4, 2, 16, 17, 0, 0, 0, false, 1},    // no cap
      {4, 2, 64, 6, 3, 30, 0, false, 200},  // past the cap (exact in bf16: see make_inputs)
      {6, 2, 33, 13, 0, 0, 0, false, 1},    // no pairs for Dh = 33: f32
      {4, 2, 64, 1, 40, 30, 0, true, 1},    // decode: f32
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "Dh=" << c.dh << " T=" << c.t << " p0=" << c.p0);
    const Inputs in = make_inputs(c, seed += 10);
    const AttentionParams params = params_of(c);
    const int64_t s = c.p0 + c.t;
    const uint8_t* valid = in.valid.empty() ? nullptr : in.valid.data();
    std::vector<float> o_want(in.q.size()), p_want(size_t(c.hq * c.t * s));
    ref::attention_ref(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params,
                       o_want.data(), p_want.data());
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      std::vector<float> o_f32(in.q.size()), p_f32(p_want.size());
      attention(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params, o_f32.data(),
                p_f32.data(), &pool);
      std::vector<float> o(in.q.size()), probs(p_want.size()), o2(in.q.size());
      {
        ScopedActivations mode(threads == 1 ? Activations::Bf16 : Activations::Int8);
        attention(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params, o.data(),
                  probs.data(), &pool);
        attention(in.q.data(), in.k.data(), in.v.data(), valid, c.t, c.p0, params, o2.data(),
                  nullptr, &pool);
      }
      const bool pairs = c.t > 1 && (c.dh == 16 || c.dh == 32 || c.dh == 64 || c.dh == 128);
      if (!pairs) {
        EXPECT_EQ(o, o_f32);
        EXPECT_EQ(probs, p_f32);
        continue;
      }
      const auto tol = tolerance_for(DType::BF16, Level::Kernel);
      EXPECT_TRUE(all_close(o.data(), o_want.data(), o.size(), tol, "bf16 attention o"));
      EXPECT_TRUE(all_close(probs.data(), p_want.data(), probs.size(), tol, "bf16 probs"));
      EXPECT_TRUE(all_close(o2.data(), o.data(), o.size(), tolerance_for(DType::F32, Level::Kernel),
                            "bf16 attention o, no probs"));
      if (c.q_scale < 100)  // the grid of the large-q case is exact in bf16
        EXPECT_NE(o, o_f32);
      for (int64_t i = 0; i < int64_t(probs.size()); ++i)
        if (p_want[size_t(i)] == 0.0f) EXPECT_EQ(probs[size_t(i)], 0.0f) << i;
    }
  }
}

// A null pool runs inline and agrees.
TEST(Attention, NullPool) {
  const Case c = {4, 2, 16, 4, 2, 30, 3, true, 5};
  const Inputs in = make_inputs(c, 77);
  const AttentionParams params = params_of(c);
  std::vector<float> o(in.q.size()), want(in.q.size());
  attention(in.q.data(), in.k.data(), in.v.data(), in.valid.data(), c.t, c.p0, params, o.data(),
            nullptr, nullptr);
  ref::attention_ref(in.q.data(), in.k.data(), in.v.data(), in.valid.data(), c.t, c.p0, params,
                     want.data(), nullptr);
  EXPECT_TRUE(all_close(o.data(), want.data(), o.size(), tolerance_for(DType::F32, Level::Kernel),
                        "attention, null pool"));
}

// GQA: with V constant g+1 on KV head g, query head hq must output hq / (Hq/Hkv) + 1.
TEST(Attention, GroupedQueryHeadsReadTheirKvHead) {
  const int64_t hq = 6, hkv = 3, dh = 8, t = 4, s = 4;
  std::vector<float> q = test::random_floats(size_t(t * hq * dh), 5);
  std::vector<float> k = test::random_floats(size_t(s * hkv * dh), 6);
  std::vector<float> v(size_t(s * hkv * dh));
  for (int64_t pos = 0; pos < s; ++pos)
    for (int64_t g = 0; g < hkv; ++g)
      for (int64_t d = 0; d < dh; ++d) v[size_t((pos * hkv + g) * dh + d)] = float(g + 1);
  AttentionParams p;
  p.n_q_heads = hq;
  p.n_kv_heads = hkv;
  p.head_dim = dh;
  std::vector<float> o(q.size());
  attention(q.data(), k.data(), v.data(), nullptr, t, 0, p, o.data(), nullptr, nullptr);
  for (int64_t i = 0; i < t; ++i)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t d = 0; d < dh; ++d)
        EXPECT_NEAR(o[size_t((i * hq + h) * dh + d)], float(h / 2 + 1), 1e-6) << i << " " << h;
}

// One query at position 8 (Dh = 1, q = 1), keys 0 and 1 valid (k = 1, 100), keys 2..8 masked by
// key_valid, multiplier 0.5, soft-cap 30, temperature L = 4: tau(8) = log2(8)/log2(4) = 1.5.
//   l0 = 1.5 * 30 tanh(0.5 / 30),  l1 = 1.5 * 30 tanh(50 / 30)
// The order matters: the temperature after the cap lets l1 exceed 30.
TEST(Attention, HandComputedLogitPipeline) {
  const int64_t p0 = 8, s = 9;
  const float q[1] = {1.0f};
  std::vector<float> k(s, 0.0f), v(s, 0.0f);
  k[0] = 1.0f;
  k[1] = 100.0f;
  v[0] = 2.0f;
  v[1] = -4.0f;
  for (int64_t i = 2; i < s; ++i) k[size_t(i)] = v[size_t(i)] = 1000.0f + float(i);  // masked
  std::vector<uint8_t> valid(s, 0);
  valid[0] = valid[1] = 1;
  AttentionParams p;
  p.n_q_heads = p.n_kv_heads = p.head_dim = 1;
  p.logit_multiplier = 0.5f;
  p.softcap = 30.0f;
  p.temperature_len = 4;
  const double l0 = 1.5 * 30 * std::tanh(0.5 / 30), l1 = 1.5 * 30 * std::tanh(50.0 / 30);
  const double p1 = 1.0 / (1.0 + std::exp(l0 - l1)), p_0 = 1.0 - p1;
  for (bool reference : {false, true}) {
    float o[1], probs[9];
    if (reference)
      ref::attention_ref(q, k.data(), v.data(), valid.data(), 1, p0, p, o, probs);
    else
      attention(q, k.data(), v.data(), valid.data(), 1, p0, p, o, probs, nullptr);
    EXPECT_NEAR(probs[0], p_0, 1e-6) << "reference " << reference;
    EXPECT_NEAR(probs[1], p1, 1e-6) << "reference " << reference;
    for (int i = 2; i < 9; ++i) EXPECT_EQ(probs[i], 0.0f);
    EXPECT_NEAR(o[0], 2.0 * p_0 - 4.0 * p1, 1e-5) << "reference " << reference;
  }
}

// The documented corner: a query whose keys are all masked gets uniform weights (all logits are
// -1e30), in the kernel and the reference alike.
TEST(Attention, AllKeysMaskedGivesUniformWeights) {
  const int64_t p0 = 3, s = 4, dh = 5;
  const std::vector<float> q = test::random_floats(dh, 1);
  const std::vector<float> k = test::random_floats(size_t(s * dh), 2);
  const std::vector<float> v = test::random_floats(size_t(s * dh), 3);
  const std::vector<uint8_t> valid(s, 0);
  AttentionParams p;
  p.n_q_heads = p.n_kv_heads = 1;
  p.head_dim = dh;
  for (bool reference : {false, true}) {
    std::vector<float> o(dh), probs(s);
    if (reference)
      ref::attention_ref(q.data(), k.data(), v.data(), valid.data(), 1, p0, p, o.data(),
                         probs.data());
    else
      attention(q.data(), k.data(), v.data(), valid.data(), 1, p0, p, o.data(), probs.data(),
                nullptr);
    for (int64_t key = 0; key < s; ++key) EXPECT_NEAR(probs[size_t(key)], 0.25, 1e-7);
    for (int64_t d = 0; d < dh; ++d) {
      double mean = 0;
      for (int64_t key = 0; key < s; ++key) mean += v[size_t(key * dh + d)] / 4.0;
      EXPECT_NEAR(o[size_t(d)], mean, 1e-6) << "reference " << reference;
    }
  }
}

// Queries at or before L see no temperature, queries after it do.
TEST(Attention, TemperatureStartsAfterL) {
  const Case with = {2, 1, 16, 8, 0, 0, 4, false, 3};
  Case without = with;
  without.temperature_len = 0;
  const Inputs in = make_inputs(with, 9);
  const int64_t s = 8;
  std::vector<float> o_with(in.q.size()), o_without(in.q.size());
  std::vector<float> p_with(size_t(2 * 8 * s)), p_without(p_with.size());
  AttentionParams pw = params_of(with), pwo = params_of(without);
  attention(in.q.data(), in.k.data(), in.v.data(), nullptr, 8, 0, pw, o_with.data(), p_with.data(),
            nullptr);
  attention(in.q.data(), in.k.data(), in.v.data(), nullptr, 8, 0, pwo, o_without.data(),
            p_without.data(), nullptr);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 8; ++i) {
      const float* a = p_with.data() + (h * 8 + i) * s;
      const float* b = p_without.data() + (h * 8 + i) * s;
      bool same = true;
      for (int64_t key = 0; key < s; ++key) same = same && a[key] == b[key];
      if (i <= 4)
        EXPECT_TRUE(same) << "query at position " << i << " <= L changed";
      else
        EXPECT_FALSE(same) << "query at position " << i << " > L unchanged";
    }
}

}  // namespace
}  // namespace moescope::kernels
