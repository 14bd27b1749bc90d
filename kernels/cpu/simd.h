// Internal to kernels/cpu: the few vector primitives the CPU kernels share.
//
// With AVX2+FMA (the build uses -march=native) these are intrinsics; otherwise a portable
// scalar form with the same results up to f32 summation order. Weight loaders turn 8 stored
// elements of one dtype into 8 f32 lanes in registers, so a dot product can read quantised
// weights without a dequantised copy in memory (the decode path of matmul).
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/cpu/dtype.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MOESCOPE_SIMD_AVX2 1
#else
#define MOESCOPE_SIMD_AVX2 0
#endif
// The avx512 and amx variants (matmul_variants.h) also load 16 elements into 16 f32 lanes, and
// multiply int8 weights with AVX512-VNNI.
#if MOESCOPE_SIMD_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__)
#define MOESCOPE_SIMD_AVX512 1
#else
#define MOESCOPE_SIMD_AVX512 0
#endif

// Sources built for a wider instruction set than the baseline (matmul_variants.h) name their
// variant, so that these inline functions, compiled there for wider registers, keep names of
// their own: the linker never merges them with the baseline's copies.
#ifndef MOESCOPE_KERNELS_VARIANT
#define MOESCOPE_KERNELS_VARIANT isa_baseline
#endif

namespace moescope::kernels::simd {
inline namespace MOESCOPE_KERNELS_VARIANT {

#if MOESCOPE_SIMD_AVX2

// Transposes the 8 x 8 block r[i] (lane j) in place, to r[j] (lane i): unpack pairs, shuffle
// quads, swap 128-bit halves (24 shuffles per 64 values).
inline void transpose8x8(__m256 (&r)[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// dst[i * ld + j] = lane i of rows[j] for an 8 x 8 block of 32-bit words (bf16 pairs, int8
// quads): transpose8x8, stored.
inline void transpose8x8_words(const __m256i* rows, uint32_t* dst, int64_t ld) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_castsi256_ps(rows[i]);
  transpose8x8(r);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(reinterpret_cast<float*>(dst + i * ld), r[i]);
}

#if MOESCOPE_SIMD_AVX512
// largest = max |x[k]| over [0, n), n a multiple of 16; false when a value is NaN or infinite.
inline bool finite_largest16(const float* x, int64_t n, float& largest) {
  __m512 m = _mm512_setzero_ps();
  __mmask16 unordered = 0;
  for (int64_t k = 0; k < n; k += 16) {
    const __m512 v = _mm512_loadu_ps(x + k);
    m = _mm512_max_ps(m, _mm512_abs_ps(v));
    unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  largest = _mm512_reduce_max_ps(m);
  return !unordered && largest <= std::numeric_limits<float>::max();
}
#endif

// Sum of the 8 lanes.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Weight loaders: elem is the stored type, load8 converts 8 elements, scalar converts one.
struct LoadF32 {
  using elem = float;
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float scalar(const float* p) { return *p; }
};

struct LoadBF16 {
  using elem = uint16_t;
  // bf16 is the top half of an f32: widen to 32 bits and shift into place.
  static __m256 load8(const uint16_t* p) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
#if MOESCOPE_SIMD_AVX512
  static __m512 load16(const uint16_t* p) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
#endif
  static float scalar(const uint16_t* p) {
    return bf16_to_f32(*p);
  }
};

struct LoadF16 {
  using elem = uint16_t;
#if defined(__F16C__)
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
#else
  static __m256 load8(const uint16_t* p) {
    alignas(32) float f[8];
    for (int i = 0; i < 8; ++i) f[i] = f16_to_f32(p[i]);
    return _mm256_load_ps(f);
  }
#endif
  static float scalar(const uint16_t* p) {
    return f16_to_f32(*p);
  }
#if MOESCOPE_SIMD_AVX512
  static __m512 load16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
#endif
};

struct LoadI8 {
  using elem = int8_t;
  static __m256 load8(const int8_t* p) {
    __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
  }
#if MOESCOPE_SIMD_AVX512
  static __m512 load16(const int8_t* p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
#endif
  static float scalar(const int8_t* p) {
    return float(*p);
  }
};

struct LoadF8E4M3 {
  using elem = uint8_t;
  // Normal values: move the 4+3 exponent/mantissa bits under the f32 ones and add the bias
  // difference (127 - 7) to the exponent. Subnormals (exponent 0) are man * 2^-9, done by an
  // int->float conversion so the result does not depend on the FPU's denormal flags. 0x7F/0xFF
  // are NaN ("fn" variant: no infinities).
  static __m256 load8(const uint8_t* p) {
    __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    __m256i v = _mm256_cvtepu8_epi32(b);
    __m256i mag = _mm256_and_si256(v, _mm256_set1_epi32(0x7f));
    __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(mag, 20), _mm256_set1_epi32(120 << 23));
    __m256 sub = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(7))),
                               _mm256_set1_ps(1.0f / 512.0f));
    __m256i is_sub =
        _mm256_cmpeq_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x78)), _mm256_setzero_si256());
    __m256 r = _mm256_blendv_ps(_mm256_castsi256_ps(normal), sub, _mm256_castsi256_ps(is_sub));
    __m256i is_nan = _mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7f));
    r = _mm256_blendv_ps(r, _mm256_set1_ps(__builtin_nanf("")), _mm256_castsi256_ps(is_nan));
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x80)), 24);
    return _mm256_or_ps(r, _mm256_castsi256_ps(sign));
  }
#if MOESCOPE_SIMD_AVX512
  static __m512 load16(const uint8_t* p) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(load8(p)), load8(p + 8), 1);
  }
#endif
  static float scalar(const uint8_t* p) {
    return fp8_e4m3_to_f32(*p);
  }
};

// The constants of exp8/exp16 and tanh8/tanh16, one table for both widths (described there).
namespace approx {
constexpr float kExpLo = -87.0f, kExpHi = 88.0f, kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln 2 in two parts
constexpr int kExpTerms = 6;
constexpr float kExpPoly[kExpTerms] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                       4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kTanhClamp = 7.90531110763549805f, kTanhTiny = 0.0004f;
constexpr int kTanhPTerms = 7, kTanhQTerms = 4;
constexpr float kTanhP[kTanhPTerms] = {
    -2.76076847742355e-16f, 2.00018790482477e-13f, -8.60467152213735e-11f, 5.12229709037114e-08f,
    1.48572235717979e-05f,  6.37261928875436e-04f, 4.89352455891786e-03f};
constexpr float kTanhQ[kTanhQTerms] = {1.19825839466702e-06f, 1.18534705686654e-04f,
                                       2.26843463243900e-03f, 4.89352518554385e-03f};
}  // namespace approx

// e^x in 8 lanes: Cephes' expf (n = round(x log2 e), r = x - n ln2 in two parts, degree-6
// polynomial, 2^n through the exponent bits). Relative error <= 1.2e-7 on [-87, 88] against a
// double exp. Inputs below -87 give exactly 0 (a masked logit, -1e30 - max, must weigh nothing;
// libm would return a denormal down to -103, which no softmax or GELU here can tell from 0);
// inputs above 88 are clamped (e^88 = 1.65e38: "huge", as GELU's exp(-2z) needs).
inline __m256 exp8(__m256 x) {
  using namespace approx;
  const __m256 lo = _mm256_set1_ps(kExpLo);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(kExpHi));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpPoly[0]);
  for (int i = 1; i < kExpTerms; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

// tanh(x) in 8 lanes: the odd rational minimax approximation of Eigen's fast tanh (degree 13/6
// on |x| <= 7.905, where tanh is 1 - 2.7e-7; beyond it the clamp gives +-1 to f32 precision).
// Relative error <= 3e-7 against a double tanh; x itself below |x| = 4e-4.
inline __m256 tanh8(__m256 x) {
  using namespace approx;
  const __m256 c = _mm256_set1_ps(kTanhClamp);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_sub_ps(_mm256_setzero_ps(), c)), c);
  const __m256 x2 = _mm256_mul_ps(xc, xc);
  __m256 p = _mm256_set1_ps(kTanhP[0]);
  for (int i = 1; i < kTanhPTerms; ++i) p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(kTanhP[i]));
  p = _mm256_mul_ps(p, xc);
  __m256 q = _mm256_set1_ps(kTanhQ[0]);
  for (int i = 1; i < kTanhQTerms; ++i) q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(kTanhQ[i]));
  const __m256 tiny = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x),
                                    _mm256_set1_ps(kTanhTiny), _CMP_LT_OQ);
  return _mm256_blendv_ps(_mm256_div_ps(p, q), x, tiny);
}

// The sums of the 8 lanes of each of a, b, c, d, as 4 lanes.
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // per 128-bit half: a, b, c, d partial sums
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// sum_i a[i] * b[i] with four independent accumulators (FMA latency hiding).
inline float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

#if MOESCOPE_SIMD_AVX512
// e^x in 16 lanes: exp8's algorithm and error.
inline __m512 exp16(__m512 x) {
  using namespace approx;
  const __m512 lo = _mm512_set1_ps(kExpLo);
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(kExpHi));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpPoly[0]);
  for (int i = 1; i < kExpTerms; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpPoly[i]));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(__mmask16(~underflow), p, _mm512_castsi512_ps(e));
}

// tanh(x) in 16 lanes: tanh8's approximation and error.
inline __m512 tanh16(__m512 x) {
  using namespace approx;
  const __m512 c = _mm512_set1_ps(kTanhClamp);
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_sub_ps(_mm512_setzero_ps(), c)), c);
  const __m512 x2 = _mm512_mul_ps(xc, xc);
  __m512 p = _mm512_set1_ps(kTanhP[0]);
  for (int i = 1; i < kTanhPTerms; ++i) p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(kTanhP[i]));
  p = _mm512_mul_ps(p, xc);
  __m512 q = _mm512_set1_ps(kTanhQ[0]);
  for (int i = 1; i < kTanhQTerms; ++i) q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(kTanhQ[i]));
  const __mmask16 tiny =
      _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(kTanhTiny), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(tiny, _mm512_div_ps(p, q), x);
}
#endif

// Vector policies: one set of operations over 8 (Vec8) or 16 (Vec16) f32 lanes, so that a kernel
// written once against a policy runs at either width.
struct Vec8 {
  using V = __m256;
  using Mask = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float f) { return _mm256_set1_ps(f); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fmsub(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }
  static V exp(V x) { return exp8(x); }
  static V tanh(V x) { return tanh8(x); }
  static Mask eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static V select(Mask m, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, m); }
  static V zero_where(Mask m, V v) { return _mm256_andnot_ps(m, v); }
  static float sum(V v) { return hsum(v); }
  static float max_lane(V v) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    float m = lanes[0];
    for (float l : lanes) m = l > m ? l : m;
    return m;
  }
  // out[0..4) = the lane sums of a, b, c, d.
  static void sum4(V a, V b, V c, V d, float* out) { _mm_storeu_ps(out, hsum4(a, b, c, d)); }
};

#if MOESCOPE_SIMD_AVX512
struct Vec16 {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float f) { return _mm512_set1_ps(f); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fmsub(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
  static V exp(V x) { return exp16(x); }
  static V tanh(V x) { return tanh16(x); }
  static Mask eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static V select(Mask m, V if_true, V if_false) {
    return _mm512_mask_blend_ps(m, if_false, if_true);
  }
  static V zero_where(Mask m, V v) { return _mm512_maskz_mov_ps(__mmask16(~m), v); }
  static __m256 fold(V v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  }
  static float sum(V v) { return hsum(fold(v)); }
  static float max_lane(V v) { return _mm512_reduce_max_ps(v); }
  static void sum4(V a, V b, V c, V d, float* out) {
    _mm_storeu_ps(out, hsum4(fold(a), fold(b), fold(c), fold(d)));
  }
};
#endif

#else  // portable

struct LoadF32 {
  using elem = float;
  static float scalar(const float* p) { return *p; }
};
struct LoadBF16 {
  using elem = uint16_t;
  static float scalar(const uint16_t* p) { return bf16_to_f32(*p); }
};
struct LoadF16 {
  using elem = uint16_t;
  static float scalar(const uint16_t* p) { return f16_to_f32(*p); }
};
struct LoadI8 {
  using elem = int8_t;
  static float scalar(const int8_t* p) { return float(*p); }
};
struct LoadF8E4M3 {
  using elem = uint8_t;
  static float scalar(const uint8_t* p) { return fp8_e4m3_to_f32(*p); }
};

// sum_i a[i] * b[i]; four accumulators so the compiler may keep them in separate lanes.
inline float dot_f32(const float* a, const float* b, int64_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

#endif

// y[i] += a * x[i] (the compiler vectorises this one on its own).
inline void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace MOESCOPE_KERNELS_VARIANT
}  // namespace moescope::kernels::simd
