// Gated activations of the expert and shared MLPs: out = act(gate) * up
// (grok-architecture.md 2.5, 3.3).
//
// Each activation is evaluated in a form that is algebraically equal to the textbook one but
// avoids cancellation for negative x, where 1 + tanh(z) or 1 + erf(z) would subtract two
// nearly equal numbers:
//   gelu_tanh: 0.5 x (1 + tanh(z)) = x / (1 + exp(-2z)),  z = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu_erf:  0.5 x (1 + erf(x / sqrt2)) = 0.5 x erfc(-x / sqrt2)
//   silu:      x / (1 + exp(-x))
#include "kernels/cpu/activation.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/simd.h"

namespace moescope::kernels {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::GeluTanh:
      return "gelu_tanh";
    case Activation::GeluErf:
      return "gelu_erf";
    case Activation::Silu:
      return "silu";
  }
  return "?";
}

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const float z = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  // For large |x|, x^3 overflows to +-inf; exp then gives inf or 0 and the result is -0 or x.
  return x / (1.0f + std::exp(-2.0f * z));
}

float gelu_erf(float x) {
  constexpr float kSqrtHalf = 0.7071067811865476f;
  return 0.5f * x * std::erfc(-x * kSqrtHalf);
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

namespace {

template <float (*Act)(float)>
void gated(const float* gate, const float* up, int64_t n, float* out, int64_t i = 0) {
  // out may alias gate or up: element i is read before it is written.
  for (; i < n; ++i) out[i] = Act(gate[i]) * up[i];
}

#if MOESCOPE_SIMD_AVX2
// x / (1 + exp(a)) in 8 lanes, the common form of gelu_tanh (a = -2z) and silu (a = -x); where
// exp(a) overflows (a > 88) the quotient is 0, as x / inf is in the scalar form.
inline __m256 div_one_plus_exp(__m256 x, __m256 a) {
  const __m256 big = _mm256_cmp_ps(a, _mm256_set1_ps(88.0f), _CMP_GT_OQ);
  const __m256 r = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), simd::exp8(a)));
  return _mm256_andnot_ps(big, r);
}

// The 8-lane forms of gelu_tanh and silu with the vector exp (relative error ~1e-7); the scalar
// functions finish the tail.
template <bool Gelu>
void gated_vec(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    __m256 a;
    if constexpr (Gelu) {
      // a = -2 sqrt(2/pi) (x + 0.044715 x^3)
      const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
      a = _mm256_mul_ps(_mm256_set1_ps(-2.0f * 0.7978845608028654f),
                        _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    } else {
      a = _mm256_sub_ps(_mm256_setzero_ps(), x);
    }
    _mm256_storeu_ps(out + i, _mm256_mul_ps(div_one_plus_exp(x, a), _mm256_loadu_ps(up + i)));
  }
  gated<Gelu ? gelu_tanh : silu>(gate, up, n, out, i);
}
#endif

}  // namespace

namespace {

void gated_serial(const float* gate, const float* up, int64_t n, Activation act, float* out) {
  switch (act) {
    case Activation::GeluTanh:
#if MOESCOPE_SIMD_AVX2
      gated_vec<true>(gate, up, n, out);
#else
      gated<gelu_tanh>(gate, up, n, out);
#endif
      return;
    case Activation::GeluErf:
      gated<gelu_erf>(gate, up, n, out);
      return;
    case Activation::Silu:
#if MOESCOPE_SIMD_AVX2
      gated_vec<false>(gate, up, n, out);
#else
      gated<silu>(gate, up, n, out);
#endif
      return;
  }
}

}  // namespace

void gated_activation(const float* gate, const float* up, int64_t n, Activation act, float* out,
                      ThreadPool* pool) {
  // Runs of 16 elements (a whole number of vectors of either width), at least kMinRuns of them
  // per thread: below that a loop costs about what it saves (a decode-sized expert is 2-6 K
  // elements).
  constexpr int64_t kRun = 16, kMinRuns = 1024;
  const int64_t runs = (n + kRun - 1) / kRun;
  if (!pool || pool->size() == 1 || runs < 2 * kMinRuns) {
    gated_serial(gate, up, n, act, out);
    return;
  }
  pool->parallel_for(
      runs,
      [&](int64_t r0, int64_t r1) {
        const int64_t i0 = r0 * kRun, i1 = std::min(n, r1 * kRun);
        gated_serial(gate + i0, up + i0, i1 - i0, act, out + i0);
      },
      kMinRuns);
}

}  // namespace moescope::kernels
