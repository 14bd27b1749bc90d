// Decode (one x row) over packed int8 weights 16 W rows at a time, for the AVX512-VNNI kernels
// (matmul_int8x.h's packed_tile_q8 and matmul_kernels.h's packed_tile_vnni): a block's sums come
// out of the kernel as two vectors of 8 partial sums per W row pair, and the horizontal sums,
// the per-row correction, the weights' scales and the store of four blocks' rows take a few
// vector instructions per 16 rows instead of a horizontal sum and scalar work per row. At
// K = 256 that per-row epilogue was a third of a cache-resident decode matmul (block_row_sums
// is what the tiles of one block still do: two x rows, or the last rows of a thread's share).
// Included by instruction-set variants only (matmul_variants.h).
//
// Shape legend: K input features, N output features (rows of W), G scale groups per W row.
#pragma once

#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/weight_packing.h"

#ifndef MOESCOPE_KERNELS_VARIANT
#error "packed_rows16.h is compiled by a variant source, which names its namespace"
#endif

namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT {

#if MOESCOPE_SIMD_AVX512
namespace {

// The 4 row sums of one block's sums (sum[0]: rows 0 and 1, sum[1]: rows 2 and 3, 8 partial sums
// each): the per-tile epilogue of packed_tile_q8 and packed_tile_vnni.
inline __m128 block_row_sums(const __m512 (&sum)[2]) {
  return simd::hsum4(_mm512_castps512_ps256(sum[0]), _mm512_extractf32x8_ps(sum[0], 1),
                     _mm512_castps512_ps256(sum[1]), _mm512_extractf32x8_ps(sum[1], 1));
}

// W rows per step of packed_rows16: four blocks, one row per lane.
constexpr int64_t kRows16 = 4 * kPackRows;

// The 16 row sums of four blocks (one x row): v[2b + p] holds block b's rows 2p (lanes 0-7)
// and 2p + 1 (lanes 8-15) as 8 partial sums each; lane j of the result is row j.
inline __m512 reduce_rows16(const __m512 (&v)[8]) {
  // Per pair of vectors: per 128-bit lane, 4 partial sums of one row (rows 4i..4i+3 of w[i]).
  __m512 w[4];
  for (int i = 0; i < 4; ++i) {
    const __m512 a = v[2 * i], b = v[2 * i + 1];
    w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Per 128-bit lane k, the four w's row 4i + k summed: element 4k + i is row 4i + k.
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(w[0], w[1]), _mm512_unpackhi_ps(w[0], w[1]));
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(w[2], w[3]), _mm512_unpackhi_ps(w[2], w[3]));
  const __m512 abcd = _mm512_add_ps(
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, abcd);
}

// y[t, n] (=, or += when accumulate) for the rows n of a packed int8 w from n0, 16 at a time while
// they fit below n1; returns the first row not done. block_sums(g, c0, blk, chunks, sum) gives
// one block's sums over scale group g's `chunks` chunks (from chunk c0 of the row, at blk in the
// block): sum[0][0] rows 0 and 1, sum[0][1] rows 2 and 3, 8 partial sums each; finish(g, dot)
// turns the 16 rows' dot products of group g into x . W before the weights' scales.
template <class BlockSums, class Finish>
inline int64_t packed_rows16(const WeightMatrix& w, int64_t t, int64_t n0, int64_t n1, float* y,
                             bool accumulate, BlockSums&& block_sums, Finish&& finish) {
  constexpr int64_t E = kPackBytes;  // int8 elements per chunk row
  const int64_t K = w.k, groups = w.scale_groups(), group_chunks = K / groups / E;
  const auto* q = static_cast<const int8_t*>(w.data);
  // Row n + j's scale for group g: w.scales[(n + j) * groups + g].
  const __m512i scale_index =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(int(groups)));
  int64_t n = n0;
  for (; n + kRows16 <= n1; n += kRows16) {
    __m512 total = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t c0 = g * group_chunks;
      __m512 v[8];
      for (int b = 0; b < 4; ++b) {
        __m512 sum[1][2];
        block_sums(g, c0, q + (n + b * kPackRows) * K + c0 * kPackRows * E, group_chunks, sum);
        v[2 * b] = sum[0][0];
        v[2 * b + 1] = sum[0][1];
      }
      const __m512 dot = finish(g, reduce_rows16(v));
      if (!w.scales) {
        total = _mm512_add_ps(total, dot);
      } else {
        const float* s = w.scales + n * groups + g;
        const __m512 scale =
            groups == 1 ? _mm512_loadu_ps(s) : _mm512_i32gather_ps(scale_index, s, 4);
        total = _mm512_fmadd_ps(dot, scale, total);
      }
    }
    float* out = y + t * w.n + n;
    _mm512_storeu_ps(out, accumulate ? _mm512_add_ps(_mm512_loadu_ps(out), total) : total);
  }
  return n;
}

}  // namespace
#endif

}  // namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT
