// The Int8 activations mode's kernels (precision.h) for one instruction-set variant
// (matmul_variants.h), included by matmul_kernels.h: int8 weights against x quantised to int8
// blocks with AVX512-VNNI integer dot products, in decode (packed_tile_q8, over Packed4 weights
// as matmul_kernels.h streams them) and prefill (a panel GEMM, int8x_matmul_range). Only the
// avx512 variant has them; the others see QuantX alone (matmul_packed's signature).
//
// Shape legend: T tokens (rows of x and y), K input features, N output features (rows of W), G
// scale groups per W row, B x blocks per row (kInt8XBlock columns from each group's start).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "kernels/cpu/matmul_variants.h"
#include "kernels/cpu/packed_rows16.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/weight_packing.h"
#include "kernels/cpu/weight_panels.h"

#ifndef MOESCOPE_KERNELS_VARIANT
#error "matmul_int8x.h is compiled by a variant source, which names its namespace"
#endif

namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT {

namespace {

// x rows [t0, t1) quantised to int8 for the Int8 activations mode (packed_tile_q8), in a per-thread
// scratch, at their rows' offsets. Declared for every variant, as DigitsX.
struct QuantX {
  const int8_t* q = nullptr;          // [T][K]: round(x / step) in [-127, 127]
  const float* step = nullptr;        // [T][B]: each block's step, max|x| / 127 (0 when all zero)
  const float* group_corr = nullptr;  // [T][G]: what w + 128 adds over each scale group's blocks,
                                      // the sum of their 128 * step * sum(q)
  int64_t k = 0, groups = 1;
  int64_t group_blocks = 0;  // blocks per scale group (B = G * group_blocks)
};

// Blocks of x per scale group of a K-column row with `groups` groups: kInt8XBlock columns from
// each group's start, the last one shorter.
inline int64_t x_group_blocks(int64_t k, int64_t groups) {
  return (k / groups + kInt8XBlock - 1) / kInt8XBlock;
}

#if MOESCOPE_SIMD_AVX512
// ---- int8 weights against int8 x on AVX512-VNNI (Int8 activations mode, decode, Packed4) -----
//
// x is quantised per block of up to kInt8XBlock columns inside each scale group: step =
// max|x| / 127, q = round(x / step) (nearest even), as llama.cpp's q8_0 with longer blocks. The
// weights are vpdpbusd's unsigned side, as w + 128 (w ^ 0x80), against q: one instruction per 64
// weights where packed_tile_vnni spends three. A block's integer sums (exact) turn into f32 times
// its step; the 128 * sum(q) that w + 128 adds does not depend on W and is taken off the group's
// sum at the end (QuantX::group_corr).

static_assert(kInt8XBlock % kPackBytes == 0, "an x block is whole chunks");

// Quantises x[k0, k1) (a multiple of 16 columns) with the block's inverse step inv (127 / max|x|,
// 0 when max is 0): q = round(x * inv), nearest even; emit(k, bytes) takes the 16 q of columns
// k..k+15 as bytes. Returns the sum of the q.
template <class Emit>
inline int32_t quantize_block(const float* x, int64_t k0, int64_t k1, float inv, Emit&& emit) {
  const __m512 vinv = _mm512_set1_ps(inv);
  __m512i qsum = _mm512_setzero_si512();
  for (int64_t k = k0; k < k1; k += 16) {
    // |x| * 127 / max rounds to at most 127: in range, no clamp needed.
    const __m512i v = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), vinv),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    qsum = _mm512_add_epi32(qsum, v);
    emit(k, _mm512_cvtepi32_epi8(v));
  }
  return _mm512_reduce_add_epi32(qsum);
}

// Quantises row x [K] with `groups` scale groups in blocks of kInt8XBlock columns from each
// group's start (the last one shorter): step = max|x| / 127, q = round(x / step), nearest even;
// step[b] and qsum[b] = sum(q) for every block b, its q through emit (quantize_block). False when
// a block holds NaN or infinity, or its largest magnitude is below 2^-100 but not 0 (127 / max
// would overflow): the caller then takes another path. The decode and prefill paths' quantiser,
// which differ in where q goes.
//
// Blocks go 16 at a time: their maxima, then one vector division for their 16 steps and inverses,
// then their q. Block by block, a scalar division and two reductions in sequence took ~70 cycles
// per 64 columns.
template <class Emit>
bool quantize_row(const float* x, int64_t K, int64_t groups, float* step, int32_t* qsum,
                  Emit&& emit) {
  const int64_t group_len = K / groups, group_blocks = x_group_blocks(K, groups);
  const int64_t blocks = groups * group_blocks;
  auto first_column = [&](int64_t b) {
    return (b / group_blocks) * group_len + (b % group_blocks) * kInt8XBlock;
  };
  auto end_column = [&](int64_t b) {
    return std::min(first_column(b) + kInt8XBlock, (b / group_blocks + 1) * group_len);
  };
  alignas(64) float largest[16], inv[16];
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t b0 = 0; b0 < blocks; b0 += 16) {
    const int n = int(std::min<int64_t>(16, blocks - b0));
    const __mmask16 valid = __mmask16((1u << n) - 1);
    for (int i = 0; i < n; ++i) {
      const int64_t k0 = first_column(b0 + i);
      if (!simd::finite_largest16(x + k0, end_column(b0 + i) - k0, largest[i])) return false;
    }
    const __m512 m = _mm512_maskz_load_ps(valid, largest);
    const __mmask16 nonzero = _mm512_mask_cmp_ps_mask(valid, m, zero, _CMP_NEQ_OQ);
    if (_mm512_mask_cmp_ps_mask(nonzero, m, _mm512_set1_ps(0x1p-100f), _CMP_LT_OQ)) return false;
    _mm512_mask_storeu_ps(step + b0, valid, _mm512_div_ps(m, _mm512_set1_ps(127.0f)));
    _mm512_store_ps(inv, _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(127.0f), m));
    for (int i = 0; i < n; ++i)
      qsum[b0 + i] = quantize_block(x, first_column(b0 + i), end_column(b0 + i), inv[i], emit);
  }
  return true;
}

// Fills d for rows [t0, t1) of x [T, K] with `groups` scale groups (K / groups a multiple of 32),
// in a per-thread scratch. False when a block cannot be quantised (quantize_block): the caller
// then takes the exact path.
bool quantize_x(const float* x, int64_t t0, int64_t t1, int64_t K, int64_t groups, QuantX& d) {
  const int64_t group_blocks = x_group_blocks(K, groups), blocks = groups * group_blocks;
  // step [t1][B], group_corr [t1][G], one row's block sums of q [B], then q [t1][K].
  const size_t floats =
      size_t(t1) * size_t(blocks + groups) + size_t(blocks) + size_t(t1) * size_t(K) / 4;
  float* step = thread_scratch(ScratchSlot::DigitsX, floats);
  float* group_corr = step + t1 * blocks;
  auto* qsum = reinterpret_cast<int32_t*>(group_corr + t1 * groups);
  auto* q = reinterpret_cast<int8_t*>(qsum + blocks);
  d = QuantX{q, step, group_corr, K, groups, group_blocks};
  for (int64_t t = t0; t < t1; ++t) {
    int8_t* qr = q + t * K;
    float* row_step = step + t * blocks;
    if (!quantize_row(x + t * K, K, groups, row_step, qsum, [&](int64_t k, __m128i bytes) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(qr + k), bytes);
        }))
      return false;
    for (int64_t g = 0; g < groups; ++g) {
      float offset = 0.0f;
      for (int64_t b = g * group_blocks; b < (g + 1) * group_blocks; ++b)
        offset += 128.0f * row_step[b] * float(qsum[b]);
      group_corr[t * groups + g] = offset;
    }
  }
  return true;
}

// Rows [t0, t1) of the x that d stands for, q * step, into out [T, K] at their rows' offsets:
// what the row-major tail of a packed matrix multiplies, so that every row sees the same x.
void dequantize_x(const QuantX& d, int64_t t0, int64_t t1, float* out) {
  const int64_t K = d.k, group_len = K / d.groups, blocks = d.groups * d.group_blocks;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t g = k / group_len, j = g * d.group_blocks + (k % group_len) / kInt8XBlock;
      out[t * K + k] = float(d.q[t * K + k]) * d.step[t * blocks + j];
    }
}

// x rows t..t+R-1 against one W block over scale group g's `chunks` chunks, which start at chunk
// c0 of the row and at blk in the block, with x as d's int8 blocks: sum[r][0] holds 8 partial
// sums of W row 0 (lanes 0-7) and row 1 (lanes 8-15), sum[r][1] of rows 2 and 3, each still
// including what w + 128 adds (QuantX::group_corr).
//
// No software prefetch: with packed_tile512's (32 KiB ahead into L2) this loop, the lightest per
// byte, streamed from DRAM at 19-22 GB/s; without, at 28-32, the read ceiling (2026-12-07, Zen 4,
// 24 DRAM-resident 2816 x 1024 matrices, 1 thread; 60 against 43 GB/s on 2 threads; on huge and
// 4 KiB pages alike). Distances of 2-16 KiB into L1 or L2 were all slower than none.
template <int R>
[[gnu::always_inline]] inline void q8_block_sums(const QuantX& d, int64_t t, int64_t g, int64_t c0,
                                                 const int8_t* blk, int64_t chunks,
                                                 __m512 (&sum)[R][2]) {
  constexpr int64_t E = kPackBytes;  // int8 elements per chunk row
  constexpr int64_t kBlockChunks = kInt8XBlock / E;
  const int64_t K = d.k, blocks = d.groups * d.group_blocks;
  for (int r = 0; r < R; ++r) sum[r][0] = sum[r][1] = _mm512_setzero_ps();
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  __m512i acc[R][2];  // one x block's integer sums
  auto chunk = [&](int64_t c) {
    const int8_t* b = blk + c * kPackRows * E;
    const __m512i wu0 = _mm512_xor_si512(_mm512_loadu_si512(b), flip);
    const __m512i wu1 = _mm512_xor_si512(_mm512_loadu_si512(b + 2 * E), flip);
    for (int r = 0; r < R; ++r) {
      const __m512i xq = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d.q + (t + r) * K + (c0 + c) * E)));
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], wu0, xq);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], wu1, xq);
    }
  };
  auto block = [&](int64_t i, int64_t n, int64_t j) {
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (int64_t c = i; c < i + n; ++c) chunk(c);
    for (int r = 0; r < R; ++r) {
      const __m512 s = _mm512_set1_ps(d.step[(t + r) * blocks + j]);
      sum[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][0]), s, sum[r][0]);
      sum[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][1]), s, sum[r][1]);
    }
  };
  int64_t i = 0, j = g * d.group_blocks;
  for (; i + kBlockChunks <= chunks; i += kBlockChunks, ++j) block(i, kBlockChunks, j);
  if (i < chunks) block(i, chunks - i, j);  // a group's last, shorter block
}

// out[r][c] = x row t + r . W block row c over scale group g (q8_block_sums' arguments).
template <int R>
inline void packed_tile_q8(const QuantX& d, int64_t t, int64_t g, int64_t c0, const int8_t* blk,
                           int64_t chunks, float (&out)[R][kPackRows]) {
  __m512 sum[R][2];
  q8_block_sums<R>(d, t, g, c0, blk, chunks, sum);
  for (int r = 0; r < R; ++r) {
    alignas(16) float sums[kPackRows];
    _mm_store_ps(sums, _mm_sub_ps(block_row_sums(sum[r]),
                                  _mm_set1_ps(d.group_corr[(t + r) * d.groups + g])));
    for (int c = 0; c < int(kPackRows); ++c) out[r][c] = sums[c];
  }
}

// Decode with one x row t (as d's int8 blocks): y[t, n] (=, or += when accumulate) for the rows
// n of a packed int8 w from n0, 16 at a time while they fit below n1 (packed_rows16); returns the
// first row not done.
inline int64_t q8_rows16(const QuantX& d, int64_t t, const WeightMatrix& w, int64_t n0, int64_t n1,
                         float* y, bool accumulate) {
  return packed_rows16(
      w, t, n0, n1, y, accumulate,
      [&](int64_t g, int64_t c0, const int8_t* blk, int64_t chunks, __m512(&sum)[1][2]) {
        q8_block_sums<1>(d, t, g, c0, blk, chunks, sum);
      },
      [&](int64_t g, __m512 dot) {
        return _mm512_sub_ps(dot, _mm512_set1_ps(d.group_corr[t * d.groups + g]));
      });
}

// ---- int8 weights against int8 x on AVX512-VNNI (Int8 activations mode, prefill) ------------
//
// A quad is four consecutive columns: one int32 lane of vpdpbusd, which adds the four products
// of an unsigned byte quad of one operand with the signed quad of the other. W is converted per
// panel of kQ8Cols rows x kQ8Quads quads into panel[q][j] = W row j's quad q as unsigned bytes
// (w + 128, w ^ 0x80); broadcasting x's quad against the panel's row q is an outer-product step
// over 16 columns and four k: 64 products per instruction, four times an f32 FMA's. The tile is
// kQ8Rows x rows by the panel's 32 columns: 12 integer accumulators for one x block, turned into
// f32 times the block's step at its end into 12 f32 accumulators. w + 128 adds 128 * sum(q) to
// every lane: each block's integer accumulators start at -128 * sum(q) (Int8X::bias), which
// takes it off exactly and for free. The weights' scales (one per column: panels end at every
// group's end) apply at the panel's end.

constexpr int64_t kQ8Cols = 32;    // W rows per panel: two vectors of 16 int32 lanes
constexpr int64_t kQ8Quads = 128;  // quads per panel: 32 x 128 x 4 bytes = 16 KiB
constexpr int64_t kBlockQuads = kInt8XBlock / 4;
static_assert(kQ8Quads % kBlockQuads == 0, "a panel holds whole x blocks");

// acc + the lane-wise sums of the four products of w's unsigned bytes with the signed quad at x
// (broadcast to every lane from memory, in the instruction): the intrinsic on a broadcast value
// costs a separate broadcast, and GCC 12 copies accumulators around it.
inline __m512i dpbusd_quad(__m512i acc, __m512i w, const uint32_t* x) {
  __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*x));
  return acc;
}

// panel[q][j] for W rows [n0, n0 + cols) (rows past cols zero) and quads [p0, p0 + quads), p0
// and quads multiples of 8: every 32 columns from 4 * p0 on are one Packed4 chunk, or contiguous
// row-major.
void q8_panel(const WeightMatrix& w, int64_t n0, int64_t cols, int64_t p0, int64_t quads,
              uint32_t* panel) {
  const int64_t packed_rows = w.layout == WeightLayout::Packed4 ? w.n / kPackRows * kPackRows : 0;
  const int8_t* base[kQ8Cols];  // each row's column 4 * p0
  for (int64_t j = 0; j < cols; ++j)
    base[j] = static_cast<const int8_t*>(w.data) + element_index(w, n0 + j, 4 * p0);
  const __m256i flip = _mm256_set1_epi8(char(0x80));
  __m256i stage[kQ8Cols];
  for (int64_t d = 0; d < 4 * quads; d += kPackBytes) {
    for (int64_t j = 0; j < kQ8Cols; ++j) {
      if (j >= cols) {
        stage[j] = _mm256_setzero_si256();
        continue;
      }
      const int8_t* src = n0 + j < packed_rows ? base[j] + d * kPackRows : base[j] + d;
      stage[j] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)), flip);
    }
    for (int64_t j = 0; j < kQ8Cols; j += 8)
      simd::transpose8x8_words(stage + j, panel + (d / 4) * kQ8Cols + j, kQ8Cols);
  }
}

// y[r][j] (= when first, else +=) scale[j] * (sum over the blocks b of step[r][b] * (bias[r][b] +
// x[r] . panel[j] over b)) for R rows of a block of x (tile order: x[q][r], from the panel's
// first quad), their steps and biases (row r's at r * ldb, from the panel's first block), and the
// first cols of the panel's columns.
template <int R>
inline void q8_tile(const uint32_t* x, const float* step, const int32_t* bias, int64_t ldb,
                    const uint32_t* panel, int64_t quads, const float* scale, float* y, int64_t ldy,
                    int64_t cols, bool first) {
  __m512 lo[R], hi[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
  for (int64_t q0 = 0, b = 0; q0 < quads; q0 += kBlockQuads, ++b) {
    __m512i il[R], ih[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) il[r] = ih[r] = _mm512_set1_epi32(bias[r * ldb + b]);
    const int64_t q1 = std::min(quads, q0 + kBlockQuads);
    for (int64_t q = q0; q < q1; ++q) {
      const __m512i w0 = _mm512_loadu_si512(panel + q * kQ8Cols);
      const __m512i w1 = _mm512_loadu_si512(panel + q * kQ8Cols + 16);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        il[r] = dpbusd_quad(il[r], w0, x + q * kQ8Rows + r);
        ih[r] = dpbusd_quad(ih[r], w1, x + q * kQ8Rows + r);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 s = _mm512_set1_ps(step[r * ldb + b]);
      lo[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(il[r]), s, lo[r]);
      hi[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ih[r]), s, hi[r]);
    }
  }
  // Masked for a last panel of fewer than 32 columns. Every loop over the accumulators is
  // unrolled: one that is not puts lo and hi in memory, and GCC then stores all 12 of them at
  // every block's end (the tile in a whole matmul: 6-11% faster without).
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32  ? __mmask16(0xFFFF)
                       : cols > 16 ? __mmask16((1u << (cols - 16)) - 1)
                                   : __mmask16(0);
  const __m512 s0 = _mm512_loadu_ps(scale), s1 = _mm512_loadu_ps(scale + 16);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* yr = y + r * ldy;
    const __m512 y0 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, yr);
    const __m512 y1 = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, yr + 16);
    _mm512_mask_storeu_ps(yr, m0, _mm512_fmadd_ps(lo[r], s0, y0));
    _mm512_mask_storeu_ps(yr + 16, m1, _mm512_fmadd_ps(hi[r], s1, y1));
  }
}

// q8_tile<r> for runtime r in [R, kQ8Rows].
template <int R = 1>
inline void q8_tile_rows(int64_t r, const uint32_t* x, const float* step, const int32_t* bias,
                         int64_t ldb, const uint32_t* panel, int64_t quads, const float* scale,
                         float* y, int64_t ldy, int64_t cols, bool first) {
  if constexpr (R < kQ8Rows) {
    if (r != R)
      return q8_tile_rows<R + 1>(r, x, step, bias, ldb, panel, quads, scale, y, ldy, cols, first);
  }
  q8_tile<R>(x, step, bias, ldb, panel, quads, scale, y, ldy, cols, first);
}
#endif

}  // namespace

#if MOESCOPE_SIMD_AVX512
bool int8x_supports(const WeightMatrix& w) {
  const int64_t groups = w.scale_groups();
  return w.dtype == DType::I8 && w.k > 0 && w.k % kPackBytes == 0 &&
         (w.k / groups) % kPackBytes == 0;
}

size_t int8x_floats(int64_t t, int64_t k, int64_t groups) {
  const int64_t tp = (t + kQ8Rows - 1) / kQ8Rows * kQ8Rows;
  const int64_t blocks = groups * x_group_blocks(k, groups);
  return size_t(tp * (k / 4) + 2 * t * blocks);
}

Int8X int8x_layout(int64_t t, int64_t k, int64_t groups, float* buf) {
  const int64_t tp = (t + kQ8Rows - 1) / kQ8Rows * kQ8Rows;
  const int64_t group_blocks = x_group_blocks(k, groups);
  Int8X d;
  d.quads = reinterpret_cast<uint32_t*>(buf);
  d.step = buf + tp * (k / 4);
  d.bias = reinterpret_cast<int32_t*>(d.step + t * groups * group_blocks);
  d.t = t;
  d.k = k;
  d.groups = groups;
  d.group_blocks = group_blocks;
  return d;
}

bool int8x_quantize_rows(const float* x, const Int8X& d, int64_t t0, int64_t t1) {
  const int64_t K = d.k, Q = K / 4, blocks = d.groups * d.group_blocks;
  for (int64_t t = t0; t < t1; ++t) {
    // Row t is row t % kQ8Rows of tile block t / kQ8Rows: its quad q at [block][q][t % kQ8Rows].
    uint32_t* dst = d.quads + (t / kQ8Rows) * Q * kQ8Rows + t % kQ8Rows;
    int32_t* bias = d.bias + t * blocks;
    if (!quantize_row(x + t * K, K, d.groups, d.step + t * blocks, bias,
                      [&](int64_t k, __m128i bytes) {
                        alignas(16) uint32_t quads[4];
                        _mm_store_si128(reinterpret_cast<__m128i*>(quads), bytes);
                        for (int64_t i = 0; i < 4; ++i) dst[(k / 4 + i) * kQ8Rows] = quads[i];
                      }))
      return false;
    for (int64_t b = 0; b < blocks; ++b) bias[b] *= -128;  // the block's sum of q, until here
  }
  return true;
}

void int8x_matmul_range(const Int8X& x, const WeightMatrix& w, int64_t n0, int64_t n1, float* y,
                        bool accumulate) {
  assert(x.groups == w.scale_groups() && x.k == w.k);
  const int64_t T = x.t, K = w.k, N = w.n, Q = K / 4, B = x.groups * x.group_blocks;
  const int64_t group_quads = Q / x.groups;
  auto* panel =
      reinterpret_cast<uint32_t*>(thread_scratch(ScratchSlot::Int8Panel, kQ8Cols * kQ8Quads));
  // Without accumulate, each panel's first K block stores into y instead of adding.
  for_each_weight_panel<kQ8Cols>(
      w, n0, n1, Q, kQ8Quads,
      [&](int64_t nb, int64_t cols, int64_t pb, int64_t quads, int64_t g, const float* scale) {
        const int64_t b0 = g * x.group_blocks + (pb - g * group_quads) / kBlockQuads;
        q8_panel(w, nb, cols, pb, quads, panel);
        for (int64_t r = 0; r < T; r += kQ8Rows)
          q8_tile_rows(std::min<int64_t>(kQ8Rows, T - r), x.quads + (r * Q + pb * kQ8Rows),
                       x.step + r * B + b0, x.bias + r * B + b0, B, panel, quads, scale,
                       y + r * N + nb, N, cols, !accumulate && pb == 0);
      });
}
#endif

}  // namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT
