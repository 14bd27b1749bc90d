// The prefill matmul of the Bf16 activations mode (precision.h, matmul_variants.h): y[T, N] =
// bf16(x)[T, K] . W^T with AVX512-BF16 dot products, for BF16 and I8 weights (both exact in bf16).
//
// Shape legend: T tokens (rows of x and y), K input features (even), N output features (rows of
// W); a panel is kCols W rows x 2 * kPairs columns, held as k pairs: panel[p][j] = (W[j][2p],
// W[j][2p + 1]), one 32-bit bf16 pair per column, 16 columns per vector.
//
// VDPBF16PS adds, in each f32 lane, the two products of a bf16 pair of one operand with the pair
// of the other. Broadcasting x's pair (x[2p], x[2p + 1]) against the panel's row p gives an outer
// product step over 16 columns and two k at once: 32 products per instruction, where an f32 FMA
// makes 16. The tile is kRows x rows by the panel's 32 columns (24 accumulators), as the f32
// prefill tile of matmul_kernels.h, over K blocks of 2 * kPairs columns (a 16 KiB panel).
//
// Scales (I8 weights; G groups per row) multiply each block's sums before they are added into y:
// K blocks end at every group's end, so a block has one scale per column.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/dtype.h"
#include "kernels/cpu/matmul_variants.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/weight_packing.h"
#include "kernels/cpu/weight_panels.h"

namespace moescope::kernels::isa_avx512bf16 {

namespace {

constexpr int64_t kCols = 32;    // W rows per panel: two vectors of 16 f32 lanes
constexpr int64_t kPairs = 128;  // k pairs per panel block: 32 x 128 x 4 bytes = 16 KiB
constexpr int kRows = 12;        // x rows per tile: 24 accumulators of the 32 registers

// Element j of W's dtype D at p as bf16 (exact: BF16 and I8 values are bf16 values).
template <DType D>
inline uint32_t bf16_at(const char* p, int64_t j) {
  float v;
  convert_to_f32(D, p + j * int64_t(dtype_size(D)), &v, 1);
  return f32_to_bf16(v);
}

// The 8 bf16 pairs of 16 elements of W's dtype D at p.
template <DType D>
inline __m256i pairs8(const void* p) {
  if constexpr (D == DType::BF16) return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  // I8: each integer is exact in bf16 (cvtneps rounds nothing away).
  return (__m256i)_mm512_cvtneps_pbh(simd::LoadI8::load16(static_cast<const int8_t*>(p)));
}

// panel[p][j] for W rows [n0, n0 + cols) (rows past cols zero) and k pairs [p0, p0 + pairs),
// W's dtype D: 16 columns at a time, each row's 8 pairs loaded as one vector and the 32 x 8 block
// transposed; pair by pair at a ragged end of K. p0 is a multiple of 8, so every 16 columns from
// 2 * p0 on are contiguous in both layouts (Packed4 chunks hold 16 or 32 elements).
template <DType D>
void convert_panel(const WeightMatrix& w, int64_t n0, int64_t cols, int64_t p0, int64_t pairs,
                   uint32_t* panel) {
  constexpr int64_t kSize = D == DType::BF16 ? 2 : 1, E = kPackBytes / kSize;
  const int64_t c0 = 2 * p0, c1 = 2 * (p0 + pairs);
  const int64_t packed_rows = w.layout == WeightLayout::Packed4 ? w.n / kPackRows * kPackRows : 0;
  const char* base[kCols];  // each row's element c0
  for (int64_t j = 0; j < cols; ++j)
    base[j] = static_cast<const char*>(w.data) + element_index(w, n0 + j, c0) * kSize;
  // Row j's element c0 + d (d a multiple of 16): chunks of a packed block lie kPackRows apart.
  auto at = [&](int64_t j, int64_t d) {
    return n0 + j < packed_rows ? base[j] + ((d / E) * kPackRows * E + d % E) * kSize
                                : base[j] + d * kSize;
  };
  __m256i stage[kCols];
  for (int64_t c = c0; c < c1; c += 16) {
    uint32_t* dst = panel + ((c - c0) / 2) * kCols;
    if (c + 16 <= c1) {
      for (int64_t j = 0; j < kCols; ++j)
        stage[j] = j < cols ? pairs8<D>(at(j, c - c0)) : _mm256_setzero_si256();
      for (int64_t j = 0; j < kCols; j += 8) simd::transpose8x8_words(stage + j, dst + j, kCols);
      continue;
    }
    for (int64_t j = 0; j < kCols; ++j)
      for (int64_t q = 0; q < (c1 - c) / 2; ++q)
        dst[q * kCols + j] =
            j < cols ? bf16_at<D>(at(j, c - c0), 2 * q) | bf16_at<D>(at(j, c - c0), 2 * q + 1) << 16
                     : 0;
  }
}

// y[r][j] += scale[j] * sum_p x[p][r] . panel[p][j] for R rows of a block of x (tile order: the
// kRows rows' pairs of one p side by side) and the first cols of the panel's kCols columns.
template <int R>
inline void tile(const uint32_t* x, const uint32_t* panel, int64_t pairs, const float* scale,
                 float* y, int64_t ldy, int64_t cols) {
  __m512 lo[R], hi[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(panel + p * kCols);
    const __m512bh w1 = (__m512bh)_mm512_loadu_si512(panel + p * kCols + 16);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh xp = (__m512bh)_mm512_set1_epi32(int(x[p * kRows + r]));
      lo[r] = _mm512_dpbf16_ps(lo[r], xp, w0);
      hi[r] = _mm512_dpbf16_ps(hi[r], xp, w1);
    }
  }
  // Masked for a last panel of fewer than kCols columns, in an unrolled loop: one that is not puts
  // lo and hi in memory (matmul_int8x.h's q8_tile).
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32  ? __mmask16(0xFFFF)
                       : cols > 16 ? __mmask16((1u << (cols - 16)) - 1)
                                   : __mmask16(0);
  const __m512 s0 = _mm512_loadu_ps(scale), s1 = _mm512_loadu_ps(scale + 16);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    float* yr = y + r * ldy;
    _mm512_mask_storeu_ps(yr, m0, _mm512_fmadd_ps(lo[r], s0, _mm512_maskz_loadu_ps(m0, yr)));
    _mm512_mask_storeu_ps(yr + 16, m1,
                          _mm512_fmadd_ps(hi[r], s1, _mm512_maskz_loadu_ps(m1, yr + 16)));
  }
}

// tile<r> for runtime r in [R, kRows].
template <int R = 1>
inline void tile_rows(int64_t r, const uint32_t* x, const uint32_t* panel, int64_t pairs,
                      const float* scale, float* y, int64_t ldy, int64_t cols) {
  if constexpr (R < kRows) {
    if (r != R) return tile_rows<R + 1>(r, x, panel, pairs, scale, y, ldy, cols);
  }
  tile<R>(x, panel, pairs, scale, y, ldy, cols);
}

}  // namespace

bool supports(const WeightMatrix& w) {
  return (w.dtype == DType::BF16 || w.dtype == DType::I8) && w.k % 2 == 0 && w.k > 0 &&
         (w.scales == nullptr || w.groups == 1 || (w.k / w.groups) % 16 == 0);
}

size_t rounded_x_floats(int64_t t, int64_t k) {
  return size_t((t + kRows - 1) / kRows * kRows) * size_t(k / 2);
}

void round_rows(const float* x, int64_t t0, int64_t t1, int64_t k, uint16_t* xb) {
  const int64_t P = k / 2;
  auto* out = reinterpret_cast<uint32_t*>(xb);
  alignas(32) uint32_t pairs[8];
  for (int64_t t = t0; t < t1; ++t) {
    const float* src = x + t * k;
    // Row t is row t % kRows of block t / kRows: its pair p at [block][p][t % kRows].
    uint32_t* dst = out + (t / kRows) * P * kRows + t % kRows;
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 m = k - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - i)) - 1);
      const __m256bh b = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
      _mm256_store_si256(reinterpret_cast<__m256i*>(pairs), (__m256i)b);
      for (int64_t q = 0; q < std::min<int64_t>(8, (k - i) / 2); ++q)
        dst[(i / 2 + q) * kRows] = pairs[q];
    }
  }
}

void matmul_range(const uint16_t* xb, int64_t t, const WeightMatrix& w, int64_t n0, int64_t n1,
                  float* y, bool accumulate) {
  const int64_t K = w.k, N = w.n, P = K / 2;
  auto* panel = reinterpret_cast<uint32_t*>(thread_scratch(ScratchSlot::Bf16Panel, kCols * kPairs));
  const auto* x = reinterpret_cast<const uint32_t*>(xb);  // [T / kRows][P][kRows] pairs
  if (!accumulate)
    for (int64_t r = 0; r < t; ++r) std::fill(y + r * N + n0, y + r * N + n1, 0.0f);
  for_each_weight_panel<kCols>(
      w, n0, n1, P, kPairs,
      [&](int64_t nb, int64_t cols, int64_t pb, int64_t pairs, int64_t, const float* scale) {
        if (w.dtype == DType::BF16) {
          convert_panel<DType::BF16>(w, nb, cols, pb, pairs, panel);
        } else {
          convert_panel<DType::I8>(w, nb, cols, pb, pairs, panel);
        }
        for (int64_t r = 0; r < t; r += kRows)
          tile_rows(std::min<int64_t>(kRows, t - r), x + (r * P + pb * kRows), panel, pairs, scale,
                    y + r * N + nb, N, cols);
      });
}

}  // namespace moescope::kernels::isa_avx512bf16
