// The matmul kernels of one instruction-set variant (matmul_variants.h): y[T, N] = x[T, K] . W^T
// for f32 activations and F32/BF16/F16/I8/F8_E4M3 weights, the hot path of the engine (every
// projection, expert and the output head). Included once by each variant source, which names the
// namespace (MOESCOPE_KERNELS_VARIANT) and the flags; the vector code follows those flags (simd.h:
// AVX2 where the variant has it, a portable form otherwise).
//
// Shape legend: T tokens (rows of x and y), K input features, N output features (rows of W),
// G scale groups per W row. R x C is a register tile: R rows of x against C rows of W.
//
// Two paths, both accumulating in f32 with FMA:
// * Decode and short prompts (T <= kDirectMaxT): each weight is used by few x rows, so weights are
//   converted in registers straight from their stored dtype (no copy), and group scales multiply
//   the per-group partial dot products. Memory-bound on the weight bytes. Packed weights
//   (WeightLayout::Packed4, weight_packing.h) stream a block of four rows sequentially, one
//   32-byte chunk per row at a time; bf16 chunks are split into their even and odd elements with
//   one shift or mask each, against x reordered to match (permute_x_bf16), two rows per 512-bit
//   vector with AVX-512 (packed_tile_bf16x16).
//   With AVX512-VNNI, packed int8 weights are multiplied as integers, against x in 24-bit fixed
//   point (packed_tile_vnni), or, in the Int8 activations mode (precision.h), against x
//   quantised to int8 per block (packed_tile_q8).
// * Prefill (larger T): each weight is reused by T rows, so a panel of 16 W rows x kBlockCols
//   columns is dequantised once into a per-thread f32 scratch (transposed, sized to stay in L1)
//   and an outer-product tile of 6 x rows x 16 outputs runs over it for every group of x rows.
// matmul.cpp shares the work out over threads and calls matmul_range for each share.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <type_traits>
#include <utility>

#include "kernels/cpu/matmul_int8x.h"
#include "kernels/cpu/matmul_variants.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/weight_packing.h"

#ifndef MOESCOPE_KERNELS_VARIANT
#error "matmul_kernels.h is compiled by a variant source, which names its namespace"
#endif

namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT {

namespace {

// Decode path: dot-product register tile of kTileR x rows by kTileC W rows.
constexpr int kTileR = 2;
constexpr int kTileC = 4;
// Prefill path: outer-product tile of kTileRowsX x rows by one packed panel of kPanel W rows
// (two vectors), over kBlockCols columns at a time (a panel of 16 KiB, a third of L1).
// OuterVec: the vector policy of the prefill tile (simd.h: 8 or 16 lanes).
#if MOESCOPE_SIMD_AVX512
// 12 rows x 2 vectors of 16: 24 accumulators of the 32 registers.
constexpr int kTileRowsX = 12;
constexpr int64_t kPanel = 32;
constexpr int64_t kBlockCols = 128;
using OuterVec = simd::Vec16;
#else
// 6 rows x 2 vectors of 8: 12 accumulators of the 16 registers.
constexpr int kTileRowsX = 6;
constexpr int64_t kPanel = 16;
constexpr int64_t kBlockCols = 256;
#if MOESCOPE_SIMD_AVX2
using OuterVec = simd::Vec8;
#endif
#endif
// How far ahead (bytes) the direct path prefetches W: a few DRAM latencies of reading.
constexpr int64_t kPrefetchBytes = 4096;
constexpr int64_t kMaxPrefetchTileBytes = 8192;

#if MOESCOPE_SIMD_AVX512
inline __m512 in_register(__m512 v) {
  __asm__("" : "+v"(v));
  return v;
}
#endif
#if MOESCOPE_SIMD_AVX2
// Returns v, which must now live in a register. Without this GCC folds a loaded vector into
// every FMA that uses it as a memory operand, so the 2 x 4 tile issues 10 loads per 8 FMAs
// instead of 6 and becomes load-bound.
inline __m256 in_register(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}
#endif

// out[r][c] = sum_{k < len} x[r][k] * W_c[k], where x[r] = x + r * ldx and W_c = w + c * ldw are
// stored in L's dtype.
template <class L, int R, int C>
inline void tile_dot(const float* x, int64_t ldx, const typename L::elem* w, int64_t ldw,
                     int64_t len, float (&out)[R][C]) {
  int64_t k = 0;
#if MOESCOPE_SIMD_AVX2
  // Small tiles get two accumulator sets so that at least ~8 independent FMA chains are in
  // flight (FMA latency 4 x 2 ports).
  constexpr int U = (R * C <= 4) ? 2 : 1;
  __m256 acc[U][R][C];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[u][r][c] = _mm256_setzero_ps();
  for (; k + 8 * U <= len; k += 8 * U) {
    for (int u = 0; u < U; ++u) {
      __m256 wv[C];
      for (int c = 0; c < C; ++c) wv[c] = in_register(L::load8(w + c * ldw + k + 8 * u));
      for (int r = 0; r < R; ++r) {
        const __m256 xv = in_register(_mm256_loadu_ps(x + r * ldx + k + 8 * u));
        for (int c = 0; c < C; ++c) acc[u][r][c] = _mm256_fmadd_ps(xv, wv[c], acc[u][r][c]);
      }
    }
  }
  for (; k + 8 <= len; k += 8) {
    __m256 wv[C];
    for (int c = 0; c < C; ++c) wv[c] = in_register(L::load8(w + c * ldw + k));
    for (int r = 0; r < R; ++r) {
      const __m256 xv = in_register(_mm256_loadu_ps(x + r * ldx + k));
      for (int c = 0; c < C; ++c) acc[0][r][c] = _mm256_fmadd_ps(xv, wv[c], acc[0][r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      __m256 a = acc[0][r][c];
      if constexpr (U == 2) a = _mm256_add_ps(a, acc[1][r][c]);
      out[r][c] = simd::hsum(a);
    }
#else
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r][c] = 0.0f;
#endif
  for (; k < len; ++k)
    for (int c = 0; c < C; ++c) {
      const float wk = L::scalar(w + c * ldw + k);
      for (int r = 0; r < R; ++r) out[r][c] += x[r * ldx + k] * wk;
    }
}

// Calls f.template operator()<R, C>() for runtime r in [1, kTileR], c in [1, kTileC]: the edge
// tiles of T and N get their own fully unrolled instantiations.
template <class F>
inline void dispatch_tile(int64_t r, int64_t c, F&& f) {
  static_assert(kTileR == 2 && kTileC == 4, "dispatch_tile lists every (R, C)");
  switch ((r - 1) * kTileC + (c - 1)) {
    case 0:
      f.template operator()<1, 1>();
      return;
    case 1:
      f.template operator()<1, 2>();
      return;
    case 2:
      f.template operator()<1, 3>();
      return;
    case 3:
      f.template operator()<1, 4>();
      return;
    case 4:
      f.template operator()<2, 1>();
      return;
    case 5:
      f.template operator()<2, 2>();
      return;
    case 6:
      f.template operator()<2, 3>();
      return;
    case 7:
      f.template operator()<2, 4>();
      return;
    default:
      assert(false);
  }
}

// y[t + r, n + c] (=, or += when accumulate) sum over the scale groups g of part_of(g)[r][c]
// times W row n + c's scale for g: the direct paths' tile epilogue. part_of(g, part) fills the
// partial dot products of group g.
template <int R, int C, class PartOf>
inline void scaled_tile(const WeightMatrix& w, int64_t groups, int64_t t, int64_t n, float* y,
                        bool accumulate, PartOf&& part_of) {
  float sum[R][C] = {};
  for (int64_t g = 0; g < groups; ++g) {
    float part[R][C];
    part_of(g, part);
    for (int c = 0; c < C; ++c) {
      const float s = w.scales ? w.scales[(n + c) * w.groups + g] : 1.0f;
      for (int r = 0; r < R; ++r) sum[r][c] += part[r][c] * s;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float& out = y[(t + r) * w.n + n + c];
      out = accumulate ? out + sum[r][c] : sum[r][c];
    }
}

// Direct path (decode, short prompts) over y[t0:t1, n0:n1]: weights converted in registers,
// scales applied per group.
template <class L>
void matmul_direct(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                   int64_t n1, float* y, bool accumulate) {
  const int64_t K = w.k;
  const auto* q = static_cast<const typename L::elem*>(w.data);
  // Without scales the groups are irrelevant: one segment of K columns.
  const int64_t groups = w.scale_groups();
  const int64_t group_len = K / groups;
  // The kTileC rows of a tile are one contiguous block. Prefetch the block kPrefetchBytes ahead
  // (at least the next tile's): with short rows (K of a few hundred) each row is a separate short
  // stream to the hardware prefetcher, and decode from DRAM became latency-bound (tinyB int8:
  // 2.5 GB/s).
  const int64_t row_bytes = K * int64_t(sizeof(typename L::elem));
  const int64_t tile_bytes = kTileC * row_bytes;
  const int64_t ahead = std::max<int64_t>(tile_bytes, kPrefetchBytes / tile_bytes * tile_bytes);
  // Long rows stream well on their own, and a burst of hundreds of prefetches per tile only
  // clogs the miss buffers (measured: f32 at K = 1024 slower with it).
  const bool prefetch = tile_bytes <= kMaxPrefetchTileBytes;
  const char* base = static_cast<const char*>(w.data);
  const int64_t end_bytes = n1 * row_bytes;
  for (int64_t n = n0; n < n1; n += kTileC) {
    const int64_t c_n = std::min<int64_t>(kTileC, n1 - n);
    if (prefetch)
      for (int64_t b = n * row_bytes + ahead;
           b < std::min(end_bytes, n * row_bytes + ahead + tile_bytes); b += 64)
        __builtin_prefetch(base + b, 0, 3);
    for (int64_t t = t0; t < t1; t += kTileR) {
      const int64_t r_n = std::min<int64_t>(kTileR, t1 - t);
      dispatch_tile(r_n, c_n, [&]<int R, int C>() {
        scaled_tile<R, C>(w, groups, t, n, y, accumulate, [&](int64_t g, float(&part)[R][C]) {
          const int64_t k0 = g * group_len;
          tile_dot<L, R, C>(x + t * K + k0, K, q + n * K + k0, K, group_len, part);
        });
      });
    }
  }
}

// ---- Packed weights (WeightLayout::Packed4), decode path -------------------------------------
//
// Chunk loaders: L converts single elements; with AVX2, vec<v> gives vector v (of V) of one
// row's 32-byte chunk as 8 f32 lanes, in the lane order that permute_x_bf16 gives the matching x
// values. kPermuted: whether x must be reordered (never in the portable build).
//
// packed_tile requests nothing ahead: the hardware prefetcher follows a block's one sequential
// stream. Distances tuned per type (f32 256 bytes, bf16 1 KiB, int8 4 KiB into L1) helped on
// 4 KiB pages once, but measured again with the weights on huge pages (weight_arena.h) and on
// 4 KiB pages alike, every one of them was slower than none (2026-12-07, Zen 4, 24 DRAM-resident
// 2816 x 1024 matrices, 1 thread, medians of 16-30 interleaved rounds: avx512 bf16 26.2 GB/s
// without against 21.3 with, when bf16 on AVX-512 still took this loop; avx2 bf16 25.2 / 22.3,
// int8 16.8 / 15.4; f32 equal).
struct ChunkF32 {
  using L = simd::LoadF32;
  [[maybe_unused]] static constexpr int V = 1;
  static constexpr bool kPermuted = false;
#if MOESCOPE_SIMD_AVX2
  template <int v>
  static __m256 vec(const float* p) {
    return _mm256_loadu_ps(p);
  }
#endif
};

// A bf16 pair (2i, 2i+1) is one 32-bit lane: element 2i is its low half, 2i+1 its high half.
// Shifting the low half up, or masking the high half in place, gives f32 values in one
// instruction each (with the load folded in); x is reordered to evens then odds per chunk.
struct ChunkBF16 {
  using L = simd::LoadBF16;
  [[maybe_unused]] static constexpr int V = 2;
  static constexpr bool kPermuted = MOESCOPE_SIMD_AVX2;
#if MOESCOPE_SIMD_AVX2
  // Both vectors come from one load of the chunk (split), which packed_tile keeps in a register.
  static constexpr bool kSplit = true;
  static __m256i raw(const uint16_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  template <int v>
  static __m256 split(__m256i pairs) {
    if constexpr (v == 0) return _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
    return _mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(int(0xffff0000u))));
  }
#endif
};

// The other dtypes: 8 consecutive elements per vector, as the row-major loaders give them.
template <class Loader, int kVectors>
struct ChunkOf {
  using L = Loader;
  // With AVX-512, packed_tile512 reads these 16 elements at a time: converting them costs more
  // than their bytes take to arrive, and 16 lanes halve the instructions.
  [[maybe_unused]] static constexpr bool kWide512 = true;
  [[maybe_unused]] static constexpr int V = kVectors;
  static constexpr bool kPermuted = false;
#if MOESCOPE_SIMD_AVX2
  template <int v>
  static __m256 vec(const typename L::elem* p) {
    return L::load8(p + 8 * v);
  }
#endif
};
using ChunkF16 = ChunkOf<simd::LoadF16, 2>;
using ChunkI8 = ChunkOf<simd::LoadI8, 4>;
using ChunkF8E4M3 = ChunkOf<simd::LoadF8E4M3, 4>;

#if MOESCOPE_SIMD_AVX2
// Whether P gives its vectors from one raw load (raw, split<v>) instead of vec<v>.
template <class P>
constexpr bool kSplitChunks = requires {
  P::kSplit;
};

inline __m256i in_register(__m256i v) {
  __asm__("" : "+x"(v));
  return v;
}
#endif

// out[r][c] = sum over `chunks` chunks of x row r . W block row c, where x = x + r * ldx starts
// at the first chunk's columns and blk at the block's first chunk.
template <class P, int R>
inline void packed_tile(const float* x, int64_t ldx, const typename P::L::elem* blk, int64_t chunks,
                        float (&out)[R][kPackRows]) {
  constexpr int64_t E = kPackBytes / int64_t(sizeof(typename P::L::elem));
  constexpr int C = int(kPackRows);
#if MOESCOPE_SIMD_AVX2
  // At least 8 independent FMA chains (latency 4 x 2 ports): one x row alternates two
  // accumulator sets between the vectors of a chunk (or between chunks when a chunk is one
  // vector).
  constexpr int U = R == 1 ? 2 : 1;
  constexpr int S = (P::V == 1 && U == 2) ? 2 : 1;  // chunks per step
  __m256 acc[U][R][C];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[u][r][c] = _mm256_setzero_ps();
  // Chunk s of a step: every vector v of it against the R x rows.
  auto chunk = [&]<int s>(const typename P::L::elem* b, const float* xc) {
    if constexpr (kSplitChunks<P>) {
      // All of x's vectors first (R x V registers), then each row's chunk loaded once.
      __m256 xv[P::V][R];
      for (int v = 0; v < P::V; ++v)
        for (int r = 0; r < R; ++r) xv[v][r] = in_register(_mm256_loadu_ps(xc + r * ldx + 8 * v));
      for (int c = 0; c < C; ++c) {
        const __m256i pairs = in_register(P::raw(b + c * E));
        [&]<int... v>(std::integer_sequence<int, v...>) {
          (
              [&] {
                constexpr int u = (s * P::V + v) % U;
                const __m256 wv = P::template split<v>(pairs);
                for (int r = 0; r < R; ++r)
                  acc[u][r][c] = _mm256_fmadd_ps(xv[v][r], wv, acc[u][r][c]);
              }(),
              ...);
        }
        (std::make_integer_sequence<int, P::V>{});
      }
    } else {
      // One vector of every row at a time: x needs only R registers (int8 has V = 4).
      [&]<int... v>(std::integer_sequence<int, v...>) {
        (
            [&] {
              constexpr int u = (s * P::V + v) % U;
              __m256 xv[R];
              for (int r = 0; r < R; ++r)
                xv[r] = in_register(_mm256_loadu_ps(xc + r * ldx + 8 * v));
              for (int c = 0; c < C; ++c) {
                const __m256 wv = P::template vec<v>(b + c * E);
                for (int r = 0; r < R; ++r) acc[u][r][c] = _mm256_fmadd_ps(xv[r], wv, acc[u][r][c]);
              }
            }(),
            ...);
      }
      (std::make_integer_sequence<int, P::V>{});
    }
  };
  int64_t i = 0;
  if constexpr (S == 2) {
    for (; i + 2 <= chunks; i += 2) {
      chunk.template operator()<0>(blk + i * C * E, x + i * E);
      chunk.template operator()<1>(blk + (i + 1) * C * E, x + (i + 1) * E);
    }
  }
  for (; i < chunks; ++i) chunk.template operator()<0>(blk + i * C * E, x + i * E);
  for (int r = 0; r < R; ++r) {
    __m256 a[C];
    for (int c = 0; c < C; ++c) {
      a[c] = acc[0][r][c];
      if constexpr (U == 2) a[c] = _mm256_add_ps(a[c], acc[1][r][c]);
    }
    alignas(16) float sums[C];
    _mm_store_ps(sums, simd::hsum4(a[0], a[1], a[2], a[3]));
    for (int c = 0; c < C; ++c) out[r][c] = sums[c];
  }
#else
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r][c] = 0.0f;
  for (int64_t i = 0; i < chunks; ++i)
    for (int c = 0; c < C; ++c)
      for (int64_t j = 0; j < E; ++j) {
        const float wk = P::L::scalar(blk + (i * C + c) * E + j);
        for (int r = 0; r < R; ++r) out[r][c] += x[r * ldx + i * E + j] * wk;
      }
#endif
}

#if MOESCOPE_SIMD_AVX512
// Whether P's chunks go through packed_tile512 (P::kWide512).
template <class P>
constexpr bool kWideChunks = requires {
  P::kWide512;
};

// How far ahead packed_tile512 prefetches, into L2 (measured, tinyC int8 decode on a Xeon with
// AMX, 1 thread: 45 tok/s with the AVX2 loop's 4 KiB into L1, 52 with 16 KiB into L1, 60-62 with
// 16-32 KiB into L2).
constexpr int64_t kPrefetch512 = 32768;

// packed_tile with 16-lane vectors, for the chunk types whose conversion bounds the loop: each
// row's chunk of E elements is E / 16 vectors, against x's matching 16 values.
template <class P, int R>
inline void packed_tile512(const float* x, int64_t ldx, const typename P::L::elem* blk,
                           int64_t chunks, bool prefetch, float (&out)[R][kPackRows]) {
  constexpr int64_t E = kPackBytes / int64_t(sizeof(typename P::L::elem));
  constexpr int C = int(kPackRows), V = int(E / 16);
  // Two accumulator sets, alternating between vectors (or chunks when a chunk is one vector):
  // at least 8 independent FMA chains for one x row.
  __m512 acc[2][R][C];
  for (int u = 0; u < 2; ++u)
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[u][r][c] = _mm512_setzero_ps();
  for (int64_t i = 0; i < chunks; ++i) {
    const typename P::L::elem* b = blk + i * C * E;
    const float* xc = x + i * E;
    if (prefetch) {
      const char* ahead = reinterpret_cast<const char*>(b) + kPrefetch512;
      __builtin_prefetch(ahead, 0, 2);
      __builtin_prefetch(ahead + 64, 0, 2);
    }
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      const int u = (V == 1 ? int(i & 1) : v) & 1;
      __m512 xv[R];
      for (int r = 0; r < R; ++r) xv[r] = _mm512_loadu_ps(xc + r * ldx + 16 * v);
      for (int c = 0; c < C; ++c) {
        const __m512 wv = P::L::load16(b + c * E + 16 * v);
        for (int r = 0; r < R; ++r) acc[u][r][c] = _mm512_fmadd_ps(xv[r], wv, acc[u][r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    __m256 a[C];
    for (int c = 0; c < C; ++c) {
      a[c] = simd::Vec16::fold(_mm512_add_ps(acc[0][r][c], acc[1][r][c]));
    }
    alignas(16) float sums[C];
    _mm_store_ps(sums, simd::hsum4(a[0], a[1], a[2], a[3]));
    for (int c = 0; c < C; ++c) out[r][c] = sums[c];
  }
}

// chunk.operator()<u>(i) for the chunks i in [0, chunks), u alternating between the two
// accumulator sets when U == 2 (always 0 when U == 1). u is a template argument: accumulators
// indexed at run time would live in memory, not registers.
template <int U, class Chunk>
[[gnu::always_inline]] inline void alternate_chunks(int64_t chunks, Chunk& chunk) {
  int64_t i = 0;
  if constexpr (U == 2)
    for (; i + 2 <= chunks; i += 2) {
      chunk.template operator()<0>(i);
      chunk.template operator()<1>(i + 1);
    }
  for (; i < chunks; ++i) chunk.template operator()<0>(i);
}

// packed_tile for bf16 chunks with 16-lane vectors: one 64-byte load holds rows 0 and 1 of a
// chunk (rows 2 and 3 the next), 16 bf16 each; shifting gives the rows' even elements as f32
// (lanes 0-7 row 0, 8-15 row 1), masking the odd ones, against x's 8 evens and 8 odds (x is
// permuted as for packed_tile) broadcast to both halves: half packed_tile's instructions per
// byte. Decode from the caches is bound by them (the default model, bf16, one thread: ~3650
// against ~3200 tok/s; tinyA bf16 ~4580 against ~4035, interleaved); from DRAM it made no
// difference that the noise let show (tinyC bf16).
template <int R>
inline void packed_tile_bf16x16(const float* x, int64_t ldx, const uint16_t* blk, int64_t chunks,
                                float (&out)[R][kPackRows]) {
  constexpr int64_t E = kPackBytes / 2;  // bf16 elements per chunk row
  const __m512i high = _mm512_set1_epi32(int(0xffff0000u));
  // [x row][rows 0-1 | 2-3][evens | odds]: 4R independent FMA chains; one x row alternates two
  // sets between chunks (8 chains).
  constexpr int U = R == 1 ? 2 : 1;
  __m512 acc[U][R][2][2];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < 2; ++p) acc[u][r][p][0] = acc[u][r][p][1] = _mm512_setzero_ps();
  auto chunk = [&]<int u>(int64_t i) {
    const uint16_t* b = blk + i * kPackRows * E;
    __m512 xe[R], xo[R];
    for (int r = 0; r < R; ++r) {
      xe[r] = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + r * ldx + i * E));
      xo[r] = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + r * ldx + i * E + 8));
    }
    for (int p = 0; p < 2; ++p) {
      const __m512i w = _mm512_loadu_si512(b + 2 * p * E);
      const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
      const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(w, high));
      for (int r = 0; r < R; ++r) {
        acc[u][r][p][0] = _mm512_fmadd_ps(xe[r], even, acc[u][r][p][0]);
        acc[u][r][p][1] = _mm512_fmadd_ps(xo[r], odd, acc[u][r][p][1]);
      }
    }
  };
  alternate_chunks<U>(chunks, chunk);
  for (int r = 0; r < R; ++r) {
    __m512 sum[2];
    for (int p = 0; p < 2; ++p) {
      sum[p] = _mm512_add_ps(acc[0][r][p][0], acc[0][r][p][1]);
      if constexpr (U == 2)
        sum[p] = _mm512_add_ps(sum[p], _mm512_add_ps(acc[1][r][p][0], acc[1][r][p][1]));
    }
    alignas(16) float sums[kPackRows];
    _mm_store_ps(sums, block_row_sums(sum));
    for (int c = 0; c < int(kPackRows); ++c) out[r][c] = sums[c];
  }
}
#endif

// x rows [t0, t1) as digits for the VNNI int8 decode (below), in a per-thread scratch, at their
// rows' offsets. Declared for every variant: matmul_packed takes one (null but with VNNI).
struct DigitsX {
  const uint8_t* digits = nullptr;  // [T][3][K]: d0, d1, d2 of each row
  const int32_t* start = nullptr;   // [T][G][16]: each lane's start for d2 (-128 * its d2 sum)
  const float* scale = nullptr;     // [T]: s
  int64_t k = 0, groups = 1;
};
#if MOESCOPE_SIMD_AVX512
// ---- int8 weights on AVX512-VNNI (decode path, Packed4) --------------------------------------
//
// vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds each four products into one of
// 16 int32 lanes: 64 multiply-adds per instruction and no conversion of the weights, where the
// f32 path spends three instructions per 16 weights (widen, convert, FMA) and is bound by them.
// x becomes integer without leaving f32 precision: row t is 24-bit fixed point against its
// largest magnitude, q[k] = round(x[k] / s), s = 2^e with max|x| / s in [2^22, 2^23), so each
// element keeps its value to s / 2 (2^-23 of the row's largest: the rounding of an f32 product
// of it), written as three base-256 digits
//
//   q = d2 * 65536 + d1 * 256 + d0,  d0, d1 in [0, 255]: the unsigned operand, against w;
//                                    d2 in [-128, 127]: signed, so here the weights are the
//                                    unsigned side, as w + 128 (w ^ 0x80), against d2.
//
// The 128 * sum(d2) that w + 128 adds does not depend on W: each lane's d2 sum starts at minus
// its share. The integer sums are exact (|lane| < 2^24 up to 4096 columns per group, so their
// conversion to f32 is exact too); the three digits' sums combine in f32.
//
// One 64-byte load of a Packed4 chunk holds rows 0 and 1 (lanes 0-7 and 8-15), the next rows 2
// and 3; x's 32 digits of the chunk are broadcast to both halves.

// Longest scale group the integer sums take without overflowing an int32 lane.
constexpr int64_t kVnniMaxGroup = int64_t(1) << 19;

// Fills d for rows [t0, t1) of x [T, K] with `groups` scale groups (K and K / groups multiples
// of 32). False when a row cannot be fixed point (NaN, infinity, or largest magnitude below
// 2^-100): the caller then takes the f32 path, which carries a NaN or infinity into y as the
// reference does.
bool digitize_x(const float* x, int64_t t0, int64_t t1, int64_t K, int64_t groups, DigitsX& d) {
  constexpr int64_t kStartInts = 16;
  const size_t floats = size_t(t1) * (1 + size_t(groups) * kStartInts) + size_t(t1) * 3 * K / 4;
  float* buf = thread_scratch(ScratchSlot::DigitsX, floats);
  float* scale = buf;
  auto* start = reinterpret_cast<int32_t*>(buf + t1);
  auto* digits = reinterpret_cast<uint8_t*>(start + t1 * groups * kStartInts);
  d = DigitsX{digits, start, scale, K, groups};
  for (int64_t t = t0; t < t1; ++t) {
    const float* xr = x + t * K;
    float largest = 0.0f;
    if (!simd::finite_largest16(xr, K, largest)) return false;
    if (largest != 0.0f && largest < 0x1p-100f) return false;
    int e = 0;
    std::frexp(largest, &e);  // largest = f * 2^e, f in [0.5, 1)
    scale[t] = largest == 0.0f ? 1.0f : std::ldexp(1.0f, e - 23);
    const __m512 inv = _mm512_set1_ps(largest == 0.0f ? 1.0f : std::ldexp(1.0f, 23 - e));
    // A row's largest value can round up to 2^23, one past the signed top digit's range.
    const __m512i top = _mm512_set1_epi32((1 << 23) - 1);
    uint8_t* dr = digits + t * 3 * K;
    for (int64_t k = 0; k < K; k += 16) {
      const __m512i q = _mm512_min_epi32(
          top, _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xr + k), inv),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      // vpmovdb keeps each lane's low byte: d0, then bits 8-15, then the signed top digit.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dr + k), _mm512_cvtepi32_epi8(q));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dr + K + k),
                       _mm512_cvtepi32_epi8(_mm512_srli_epi32(q, 8)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dr + 2 * K + k),
                       _mm512_cvtepi32_epi8(_mm512_srai_epi32(q, 16)));
    }
    // Each lane's start: minus 128 times the d2 digits it will see, over the group's chunks.
    const int64_t group_len = K / groups;
    for (int64_t g = 0; g < groups; ++g) {
      __m512i sum = _mm512_setzero_si512();
      for (int64_t k = g * group_len; k < (g + 1) * group_len; k += 32) {
        const __m512i d2 = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dr + 2 * K + k)));
        sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(char(0x80)), d2);
      }
      _mm512_storeu_si512(start + (t * groups + g) * kStartInts,
                          _mm512_sub_epi32(_mm512_setzero_si512(), sum));
    }
  }
  return true;
}

// x rows t..t+R-1 against one W block over scale group g's `chunks` chunks, which start at chunk
// c0 of the row and at blk in the block (as packed_tile512, in integers): sum[r][0] holds 8
// partial sums of W row 0 (lanes 0-7) and row 1 (lanes 8-15), sum[r][1] of rows 2 and 3, in units
// of the row's fixed-point step (DigitsX::scale).
template <int R>
[[gnu::always_inline]] inline void vnni_block_sums(const DigitsX& d, int64_t t, int64_t g,
                                                   int64_t c0, const int8_t* blk, int64_t chunks,
                                                   bool prefetch, __m512 (&sum)[R][2]) {
  constexpr int64_t E = kPackBytes;  // int8 elements per chunk row
  const int64_t K = d.k;
  // One x row: two accumulator sets, alternating between chunks (12 independent chains).
  constexpr int U = R == 1 ? 2 : 1;
  __m512i acc[U][R][3][2];  // [set][x row][digit][W rows 0-1 | 2-3]
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < 2; ++p) {
        acc[u][r][0][p] = acc[u][r][1][p] = _mm512_setzero_si512();
        acc[u][r][2][p] = u == 0 ? _mm512_loadu_si512(d.start + ((t + r) * d.groups + g) * 16)
                                 : _mm512_setzero_si512();
      }
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  // u is a template argument: acc indexed at run time would live in memory, not registers.
  auto chunk = [&]<int u>(int64_t i) {
    const int8_t* b = blk + i * kPackRows * E;
    if (prefetch) {
      const char* ahead = reinterpret_cast<const char*>(b) + kPrefetch512;
      __builtin_prefetch(ahead, 0, 2);
      __builtin_prefetch(ahead + 64, 0, 2);
    }
    const __m512i w[2] = {_mm512_loadu_si512(b), _mm512_loadu_si512(b + 2 * E)};
    const __m512i wu[2] = {_mm512_xor_si512(w[0], flip), _mm512_xor_si512(w[1], flip)};
    for (int r = 0; r < R; ++r) {
      const uint8_t* xr = d.digits + (t + r) * 3 * K + (c0 + i) * E;
      __m512i x[3];
      for (int j = 0; j < 3; ++j)
        x[j] = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xr + j * K)));
      for (int p = 0; p < 2; ++p) {
        acc[u][r][0][p] = _mm512_dpbusd_epi32(acc[u][r][0][p], x[0], w[p]);
        acc[u][r][1][p] = _mm512_dpbusd_epi32(acc[u][r][1][p], x[1], w[p]);
        acc[u][r][2][p] = _mm512_dpbusd_epi32(acc[u][r][2][p], wu[p], x[2]);
      }
    }
  };
  alternate_chunks<U>(chunks, chunk);
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < 2; ++p) {
      __m512i a[3];
      for (int j = 0; j < 3; ++j) {
        a[j] = acc[0][r][j][p];
        if constexpr (U == 2) a[j] = _mm512_add_epi32(a[j], acc[1][r][j][p]);
      }
      sum[r][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[2]), _mm512_set1_ps(65536.0f),
                                  _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[1]), _mm512_set1_ps(256.0f),
                                                  _mm512_cvtepi32_ps(a[0])));
    }
}

// out[r][c] = x row t + r . W block row c over scale group g (vnni_block_sums' arguments).
template <int R>
inline void packed_tile_vnni(const DigitsX& d, int64_t t, int64_t g, int64_t c0, const int8_t* blk,
                             int64_t chunks, bool prefetch, float (&out)[R][kPackRows]) {
  __m512 sum[R][2];
  vnni_block_sums<R>(d, t, g, c0, blk, chunks, prefetch, sum);
  for (int r = 0; r < R; ++r) {
    alignas(16) float sums[kPackRows];
    _mm_store_ps(sums, _mm_mul_ps(block_row_sums(sum[r]), _mm_set1_ps(d.scale[t + r])));
    for (int c = 0; c < int(kPackRows); ++c) out[r][c] = sums[c];
  }
}

// Decode with one x row t (as d's digits): y[t, n] (=, or += when accumulate) for the rows n of a
// packed int8 w from n0, 16 at a time while they fit below n1 (packed_rows16); returns the first
// row not done.
inline int64_t vnni_rows16(const DigitsX& d, int64_t t, const WeightMatrix& w, int64_t n0,
                           int64_t n1, float* y, bool accumulate) {
  const __m512 scale = _mm512_set1_ps(d.scale[t]);
  return packed_rows16(
      w, t, n0, n1, y, accumulate,
      [&](int64_t g, int64_t c0, const int8_t* blk, int64_t chunks, __m512(&sum)[1][2]) {
        // The one x row is the first to read each block: it prefetches (packed_tile_vnni's rule).
        vnni_block_sums<1>(d, t, g, c0, blk, chunks, true, sum);
      },
      [&](int64_t, __m512 dot) { return _mm512_mul_ps(dot, scale); });
}

#endif

// Rows [n0, n1) of a packed w, n0 a multiple of kPackRows and n1 at most the last full block's
// end, for x rows [t0, t1); x is permuted (permute_x_bf16) when P::kPermuted.
// With digits or quant (int8 weights on AVX512-VNNI), x's digits or its int8 blocks stand in
// for x.
template <class P>
void matmul_packed(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                   int64_t n1, float* y, bool accumulate, [[maybe_unused]] const DigitsX* digits,
                   [[maybe_unused]] const QuantX* quant) {
  constexpr int64_t E = kPackBytes / int64_t(sizeof(typename P::L::elem));
  const int64_t K = w.k;
  const auto* q = static_cast<const typename P::L::elem*>(w.data);
  const int64_t groups = w.scale_groups();
  const int64_t group_chunks = K / groups / E;
#if MOESCOPE_SIMD_AVX512
  // One x row over int8 weights on AVX512-VNNI: 16 W rows per step, the rest (fewer than 16 at
  // the end of this share) as below.
  if constexpr (std::is_same_v<P, ChunkI8>) {
    if (quant && t1 - t0 == 1) n0 = q8_rows16(*quant, t0, w, n0, n1, y, accumulate);
    if (digits && t1 - t0 == 1) n0 = vnni_rows16(*digits, t0, w, n0, n1, y, accumulate);
  }
#endif
  for (int64_t n = n0; n < n1; n += kPackRows) {
    const typename P::L::elem* blk = q + n * K;  // a block takes the bytes of its rows
    for (int64_t t = t0; t < t1; t += kTileR) {
      // The kernels that prefetch do it for the first x rows: later ones find the block in cache.
      [[maybe_unused]] const bool first = t == t0;
      auto tile = [&]<int R>() {
        scaled_tile<R, int(kPackRows)>(
            w, groups, t, n, y, accumulate, [&](int64_t g, float(&part)[R][kPackRows]) {
              const int64_t c0 = g * group_chunks;
#if MOESCOPE_SIMD_AVX512
              if constexpr (std::is_same_v<P, ChunkI8>) {
                if (quant) {
                  packed_tile_q8<R>(*quant, t, g, c0, blk + c0 * kPackRows * E, group_chunks, part);
                  return;
                }
                if (digits) {
                  packed_tile_vnni<R>(*digits, t, g, c0, blk + c0 * kPackRows * E, group_chunks,
                                      first, part);
                  return;
                }
              }
              if constexpr (kWideChunks<P>) {
                packed_tile512<P, R>(x + t * K + c0 * E, K, blk + c0 * kPackRows * E, group_chunks,
                                     first, part);
                return;
              }
              if constexpr (std::is_same_v<P, ChunkBF16>) {
                packed_tile_bf16x16<R>(x + t * K + c0 * E, K, blk + c0 * kPackRows * E,
                                       group_chunks, part);
                return;
              }
#endif
              packed_tile<P, R>(x + t * K + c0 * E, K, blk + c0 * kPackRows * E, group_chunks,
                                part);
            });
      };
      static_assert(kTileR == 2, "one or two x rows per tile");
      if (t1 - t >= 2) {
        tile.template operator()<2>();
      } else {
        tile.template operator()<1>();
      }
    }
  }
}

// x reordered per chunk to the lane order of bf16 chunks: each chunk of 16 becomes its 8 even
// then its 8 odd elements. x, xp: [T, K], K a multiple of 16.
[[maybe_unused]] void permute_x_bf16(const float* x, int64_t t, int64_t k, float* xp) {
  for (int64_t i = 0; i < t * k; i += 16)
    for (int64_t j = 0; j < 8; ++j) {
      xp[i + j] = x[i + 2 * j];
      xp[i + 8 + j] = x[i + 2 * j + 1];
    }
}

// Outer-product tile for the prefill path: y[r, j] += sum_k x[r][k] * panel[k][j] for R rows of
// x and the kPanel columns of one packed panel, of which the first cols are stored. Each step
// broadcasts one x value per row against two weight vectors (OuterVec: 8 or 16 lanes): 2R
// accumulators, 2 + R loads per 2R FMAs and no horizontal sums.
template <int R>
inline void outer_tile(const float* x, int64_t ldx, const float* panel, int64_t len, float* y,
                       int64_t ldy, int64_t cols) {
#if MOESCOPE_SIMD_AVX2
  using O = OuterVec;
  using V = O::V;
  constexpr int64_t L = O::kLanes;
  static_assert(kPanel == 2 * L, "two vectors per panel row");
  // lo[r], hi[r]: outputs 0..L-1 and L..2L-1 of x row r. Every loop over r must be unrolled: an
  // array indexed at run time needs an address, and GCC then stores it back every step.
  V lo[R], hi[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = O::zero();
  for (int64_t k = 0; k < len; ++k) {
    const V w0 = in_register(O::load(panel + k * kPanel));
    const V w1 = in_register(O::load(panel + k * kPanel + L));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const V xb = O::set1(x[r * ldx + k]);
      lo[r] = O::fmadd(xb, w0, lo[r]);
      hi[r] = O::fmadd(xb, w1, hi[r]);
    }
  }
  if (cols == kPanel) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      float* yr = y + r * ldy;
      O::store(yr, O::add(O::load(yr), lo[r]));
      O::store(yr + L, O::add(O::load(yr + L), hi[r]));
    }
  } else {  // the last, partial panel of N
    alignas(64) float tmp[R][kPanel];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      O::store(tmp[r], lo[r]);
      O::store(tmp[r] + L, hi[r]);
    }
    for (int r = 0; r < R; ++r)
      for (int64_t j = 0; j < cols; ++j) y[r * ldy + j] += tmp[r][j];
  }
#else
  float acc[R][kPanel] = {};
  for (int64_t k = 0; k < len; ++k)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < kPanel; ++j) acc[r][j] += x[r * ldx + k] * panel[k * kPanel + j];
  for (int r = 0; r < R; ++r)
    for (int64_t j = 0; j < cols; ++j) y[r * ldy + j] += acc[r][j];
#endif
}

// Calls outer_tile<r> for runtime r in [R, kTileRowsX].
template <int R = 1>
inline void outer_tile_rows(int64_t r, const float* x, int64_t ldx, const float* panel, int64_t len,
                            float* y, int64_t ldy, int64_t cols) {
  if constexpr (R < kTileRowsX) {
    if (r != R) return outer_tile_rows<R + 1>(r, x, ldx, panel, len, y, ldy, cols);
  }
  assert(r == R);
  outer_tile<R>(x, ldx, panel, len, y, ldy, cols);
}

// panel[k][j] = rows[j][k] for the kPanel rows (kBlockCols apart) and len columns of a block.
inline void transpose_to_panel(const float* rows, int64_t len, float* panel) {
  int64_t k = 0;
#if MOESCOPE_SIMD_AVX2
  for (; k + 8 <= len; k += 8) {
    for (int64_t j0 = 0; j0 < kPanel; j0 += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows + (j0 + i) * kBlockCols + k);
      simd::transpose8x8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(panel + (k + i) * kPanel + j0, r[i]);
    }
  }
#endif
  for (; k < len; ++k)
    for (int64_t j = 0; j < kPanel; ++j) panel[k * kPanel + j] = rows[j * kBlockCols + k];
}

// Prefill path over y[t0:t1, n0:n1]. W is dequantised one panel (kPanel rows x kBlockCols
// columns) at a time into a per-thread scratch, transposed to [k][kPanel] so that a step of the
// tile reads 16 consecutive weights, and reused by every x row.
void matmul_blocked(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                    int64_t n1, float* y, bool accumulate) {
  const int64_t K = w.k, N = w.n;
  // rows [kPanel, kBlockCols]: the block as stored, f32; panel [kBlockCols, kPanel]: transposed.
  float* rows = thread_scratch(ScratchSlot::Panel, size_t(kPanel * kBlockCols));
  float* panel = thread_scratch(ScratchSlot::PanelT, size_t(kBlockCols * kPanel));
  // K is split into blocks, so partial sums are added into y: start from zero unless the
  // caller asked to accumulate.
  if (!accumulate)
    for (int64_t t = t0; t < t1; ++t) std::fill(y + t * N + n0, y + t * N + n1, 0.0f);

  for (int64_t nb = n0; nb < n1; nb += kPanel) {
    const int64_t cols = std::min<int64_t>(kPanel, n1 - nb);
    for (int64_t kb = 0; kb < K; kb += kBlockCols) {
      const int64_t len = std::min(K, kb + kBlockCols) - kb;
      dequantize_block(w, nb, nb + cols, kb, kb + len, rows, kBlockCols);
      // Rows past N are zero (their sums are discarded).
      for (int64_t j = cols; j < kPanel; ++j)
        std::fill(rows + j * kBlockCols, rows + j * kBlockCols + len, 0.0f);
      transpose_to_panel(rows, len, panel);
      for (int64_t t = t0; t < t1; t += kTileRowsX)
        outer_tile_rows(std::min<int64_t>(kTileRowsX, t1 - t), x + t * K + kb, K, panel, len,
                        y + t * N + nb, N, cols);
    }
  }
}

// The direct path over a packed w: full blocks packed, the row-major tail as row-major.
template <class P>
void matmul_direct_packed(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                          int64_t n1, float* y, bool accumulate) {
  const int64_t full = w.n / kPackRows * kPackRows;
  // How int8 weights see x, decided before the split between packed blocks and the row-major
  // tail: in the Int8 mode both multiply the same quantised x, whichever rows this share holds.
  const DigitsX* digits = nullptr;
  const QuantX* quant = nullptr;
#if MOESCOPE_SIMD_AVX512
  DigitsX d;
  QuantX qx;
  if constexpr (std::is_same_v<P, ChunkI8>) {
    const int64_t groups = w.scale_groups();
    if (active_activations() == Activations::Int8 && quantize_x(x, t0, t1, w.k, groups, qx)) {
      quant = &qx;
    } else if (n0 < full && w.k / groups <= kVnniMaxGroup &&
               digitize_x(x, t0, t1, w.k, groups, d)) {
      digits = &d;
    }
  }
#endif
  if (n0 < full) {
    const float* xp = x;
    if constexpr (P::kPermuted) {
      // x rows [t0, t1) in the chunks' lane order, at their own row offsets. A thread reorders
      // only the rows it multiplies: T x K values against its share of N x K weights.
      const int64_t K = w.k;
      float* permuted = thread_scratch(ScratchSlot::PermutedX, size_t(t1 * K));
      permute_x_bf16(x + t0 * K, t1 - t0, K, permuted + t0 * K);
      xp = permuted;
    }
    matmul_packed<P>(xp, t0, t1, w, n0, std::min(n1, full), y, accumulate, digits, quant);
  }
  if (n1 <= full) return;
  const float* xt = x;  // what the tail multiplies
#if MOESCOPE_SIMD_AVX512
  if (quant) {
    float* xq = thread_scratch(ScratchSlot::PermutedX, size_t(t1 * w.k));
    dequantize_x(*quant, t0, t1, xq);
    xt = xq;
  }
#endif
  matmul_direct<typename P::L>(xt, t0, t1, w, std::max(n0, full), n1, y, accumulate);
}

}  // namespace

// y[t0:t1, n0:n1]; n0 is a multiple of kPackRows when w is packed.
void matmul_range(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                  int64_t n1, float* y, bool accumulate) {
  if (t1 - t0 > kDirectMaxT) {
    matmul_blocked(x, t0, t1, w, n0, n1, y, accumulate);
    return;
  }
  const bool packed = w.layout == WeightLayout::Packed4;
  switch (w.dtype) {
    case DType::F32:
      if (packed) return matmul_direct_packed<ChunkF32>(x, t0, t1, w, n0, n1, y, accumulate);
      return matmul_direct<simd::LoadF32>(x, t0, t1, w, n0, n1, y, accumulate);
    case DType::BF16:
      if (packed) return matmul_direct_packed<ChunkBF16>(x, t0, t1, w, n0, n1, y, accumulate);
      return matmul_direct<simd::LoadBF16>(x, t0, t1, w, n0, n1, y, accumulate);
    case DType::F16:
      if (packed) return matmul_direct_packed<ChunkF16>(x, t0, t1, w, n0, n1, y, accumulate);
      return matmul_direct<simd::LoadF16>(x, t0, t1, w, n0, n1, y, accumulate);
    case DType::I8:
      if (packed) return matmul_direct_packed<ChunkI8>(x, t0, t1, w, n0, n1, y, accumulate);
      return matmul_direct<simd::LoadI8>(x, t0, t1, w, n0, n1, y, accumulate);
    case DType::F8_E4M3:
      if (packed) return matmul_direct_packed<ChunkF8E4M3>(x, t0, t1, w, n0, n1, y, accumulate);
      return matmul_direct<simd::LoadF8E4M3>(x, t0, t1, w, n0, n1, y, accumulate);
    default:
      assert(false && "matmul weights are F32, BF16, F16, I8 or F8_E4M3");
  }
}

}  // namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT
