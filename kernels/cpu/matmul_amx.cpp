// The AMX prefill path of matmul (matmul_variants.h): y[T, N] = x[T, K] . W^T on the tile unit.
//
// Shape legend: T tokens (rows of x and y), K input features, N output features (rows of W),
// G scale groups per W row; Tp, Kp: T and K rounded up to the tile sizes (16, 32), zero padded.
//
// The tile unit multiplies bf16 by bf16 into f32 (TDPBF16PS: a 16 x 32 A tile by a 32 x 16 B tile
// into a 16 x 16 C tile, 8,192 products per instruction). The engine's numerics are f32, so
//  * W must be exact in bf16: BF16, I8 (|q| <= 128) and F8_E4M3 elements are; their group scales
//    are applied to the f32 sums of each group, as on the other paths;
//  * x is split into three bf16 parts, x = hi + mid + lo, each part the rounding of what the
//    previous ones left (8 more significant bits each: 24 in all, f32's precision), and every
//    part is multiplied by W. A product of two bf16 values is exact in f32, so the sums are f32
//    sums of f32-exact products, in another order than the FMA paths.
//
// Blocking: threads own column ranges of y. For each panel of kPanelN W rows x kPanelK columns,
// W is converted once into the B tiles' pair-interleaved layout (16 k-pairs x 16 columns x 2,
// through a 16 x 16 transpose of 32-bit pairs), then every 32-row block of x runs over it: four C
// tiles (32 rows x 32 columns) stay in registers over the panel's K while the A tiles of x's
// parts and the B tiles stream in per 32 columns of K. C sums go through a [Tp, kPanelN] f32
// scratch between K panels and are folded into y, scaled, at the end of each scale group.
//
// What bounds it (a Xeon with AMX, one core): the tile loads from L2, about 57 GB/s, where the
// products alone would run 3x faster from L1. So the blocking is chosen for loads per product:
// 2 B + 6 A tiles per 12 products (one 16-row block: 5 per 6, 20% slower); storing and
// reloading C more often, to keep a chunk of A tiles in L1, measured slower still.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/matmul_variants.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/weight_packing.h"

namespace moescope::kernels::isa_amx {

namespace {

constexpr int kParts = 3;
constexpr int64_t kTileRows = 16;  // rows of every tile: x rows (A, C) or k pairs (B)
constexpr int64_t kTileK = 32;     // bf16 columns of an A tile: K per step
constexpr int64_t kTileN = 16;     // f32 columns of a C tile
constexpr int64_t kPanelN = 128;   // W rows converted per panel (a multiple of 2 * kTileN)
constexpr int64_t kPanelK = 2048;  // W columns per panel (a multiple of kTileK)
constexpr int64_t kTileElems = kTileRows * kTileK;  // bf16 elements of an A or B tile

// Tile registers. GCC's tile intrinsics paste their register numbers into the assembly text, so
// these are macros for literals (an enum's name would be pasted as it is).
#define TILE_C0 0
#define TILE_C1 1
#define TILE_C2 2
#define TILE_C3 3
#define TILE_A 4
#define TILE_A2 5
#define TILE_B0 6
#define TILE_B1 7

// Palette 1: every tile 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

void load_tile_config() {
  TileConfig config;
  for (int i = 0; i < 8; ++i) {
    config.rows[i] = kTileRows;
    config.bytes_per_row[i] = 64;
  }
  _tile_loadconfig(&config);
}

int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

__m512i bits(__m256bh v) {
  __m256i i;
  std::memcpy(&i, &v, sizeof i);
  return _mm512_castsi256_si512(i);
}

// bf16 values (in the low 16 bits of 32-bit lanes or as 16 halves) back to f32.
__m512 widen_bf16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Two 16-lane f32 vectors (exact in bf16) as 32 bf16 values, lo's first.
__m512i pack_exact_bf16(__m512 lo, __m512 hi) {
  const __m512bh pair = _mm512_cvtne2ps_pbh(hi, lo);
  __m512i i;
  std::memcpy(&i, &pair, sizeof i);
  return i;
}

// Where a W row's elements [k0, k0 + 32 s) are: at + s * step (elements of w's dtype from
// w.data), with bf16's second 16 `second` further on. Computed once per row and panel: k0 is a
// multiple of 32, so on packed rows 32 columns are one chunk (1-byte types) or two (bf16).
struct RowStream {
  int64_t at, step, second;
};

RowStream row_stream(const WeightMatrix& w, int64_t row, int64_t k0) {
  const int64_t at = element_index(w, row, k0);
  if (contiguous_run(w, row, k0) >= w.k - k0) return {at, kTileK, 16};  // row-major (or tail)
  return {at, kPackRows * kTileK, w.dtype == DType::BF16 ? kPackRows * 16 : 0};
}

// Elements [k, k + 32) of W row `row` as 32 bf16 values (no scale), zero past K; s: the step
// of row's stream.
__m512i load_row32(const WeightMatrix& w, const RowStream& rs, int64_t row, int64_t k, int64_t s) {
  if (k + kTileK > w.k) {  // the ragged end of K
    const int64_t esize = int64_t(dtype_size(w.dtype));
    alignas(64) uint16_t tmp[kTileK] = {};
    for (int64_t j = k; j < w.k; ++j) {
      float v;
      convert_to_f32(w.dtype, static_cast<const char*>(w.data) + element_index(w, row, j) * esize,
                     &v, 1);
      tmp[j - k] = f32_to_bf16(v);  // exact
    }
    return _mm512_load_si512(tmp);
  }
  const int64_t i = rs.at + s * rs.step;
  if (w.dtype == DType::BF16) {
    const auto* q = static_cast<const uint16_t*>(w.data) + i;
    if (rs.second == 16) return _mm512_loadu_si512(q);
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + rs.second));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  if (w.dtype == DType::I8) {
    const auto* q = static_cast<const int8_t*>(w.data) + i;
    return pack_exact_bf16(simd::LoadI8::load16(q), simd::LoadI8::load16(q + 16));
  }
  const auto* q = static_cast<const uint8_t*>(w.data) + i;  // F8_E4M3
  return pack_exact_bf16(simd::LoadF8E4M3::load16(q), simd::LoadF8E4M3::load16(q + 16));
}

// out[c] = column c of the 16 x 16 matrix of 32-bit elements whose rows are r: unpacks of 32-
// and 64-bit elements transpose the 4 x 4 blocks inside each 128-bit lane, then two rounds of
// 128-bit shuffles move the blocks.
void transpose16(__m512i (&r)[16], __m512i* out) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // r[4i + j], lane L: column 4L + j of rows 4i .. 4i + 3.
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512i s0 = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x44);
    const __m512i s1 = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xee);
    const __m512i s2 = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x44);
    const __m512i s3 = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xee);
    out[j] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    out[4 + j] = _mm512_shuffle_i32x4(s0, s2, 0xdd);
    out[8 + j] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    out[12 + j] = _mm512_shuffle_i32x4(s1, s3, 0xdd);
  }
}

// The B tiles of W rows [n0, n0 + rows) x columns [k0, k0 + cols) (cols a multiple of 32):
// for every 32 rows and 32 columns two tiles (rows +0..15 and +16..31), each [16 k pairs][16
// rows][2], in the order (row block, column step, half). Rows past rows are zero.
void convert_panel(const WeightMatrix& w, int64_t n0, int64_t rows, int64_t k0, int64_t cols,
                   uint16_t* panel) {
  const int64_t steps = cols / kTileK;
  for (int64_t rb = 0; rb < rows; rb += 2 * kTileN)
    for (int64_t half = 0; half < 2; ++half) {
      const int64_t first = rb + half * kTileN, present = std::clamp<int64_t>(rows - first, 0, 16);
      RowStream streams[kTileN];
      for (int64_t i = 0; i < present; ++i) streams[i] = row_stream(w, n0 + first + i, k0);
      for (int64_t s = 0; s < steps; ++s) {
        __m512i r[16];
        for (int64_t i = 0; i < kTileN; ++i)
          r[i] = i < present ? load_row32(w, streams[i], n0 + first + i, k0 + s * kTileK, s)
                             : _mm512_setzero_si512();
        auto* tile = reinterpret_cast<__m512i*>(
            panel + ((rb / (2 * kTileN) * steps + s) * 2 + half) * kTileElems);
        __m512i cols_of[16];
        transpose16(r, cols_of);
        for (int i = 0; i < 16; ++i) _mm512_storeu_si512(tile + i, cols_of[i]);
      }
    }
}

// The A tile of part p of x rows [tb, tb + 16) x columns [32 ks, 32 ks + 32): x's parts are
// stored tile by tile, [Tp / 16][Kp / 32][part][16 rows][32 columns], so that a tile is 1 KiB in
// one piece and a step's three tiles follow each other (rows Kp apart missed the caches'
// prefetchers: tile loads waited on L2 at a third of the rate).
inline int64_t a_tile(const SplitX& x, int64_t tb, int64_t ks, int p) {
  return ((tb / kTileRows * (x.kp / kTileK) + ks) * kParts + p) * kTileElems;
}

// C += x's parts . panel over `steps` steps of 32 columns from column k0, for every 16-row
// block of x and every 32 columns of the panel's `rows`. c: [Tp, kPanelN] f32.
void multiply_panel(const SplitX& x, int64_t k0, const uint16_t* panel, int64_t rows, int64_t steps,
                    float* c) {
  constexpr int64_t lda = kTileK * int64_t(sizeof(uint16_t));
  constexpr int64_t ldc = kPanelN * int64_t(sizeof(float));
  int64_t tb = 0;
  // Two row blocks at a time: C tiles for 32 rows x 32 columns, each summing all three parts.
  // Per 32 columns of K, 2 B and 6 A tile loads feed 12 products, where one row block's 5 loads
  // fed 6 (the loads, from L2, are what bounds this loop).
  for (; tb + 2 * kTileRows <= x.tp; tb += 2 * kTileRows) {
    const uint16_t* a0 = x.parts + a_tile(x, tb, k0 / kTileK, 0);
    const uint16_t* a1 = x.parts + a_tile(x, tb + kTileRows, k0 / kTileK, 0);
    for (int64_t rb = 0; rb < rows; rb += 2 * kTileN) {
      float* ct = c + tb * kPanelN + rb;
      float* cb = ct + kTileRows * kPanelN;
      _tile_loadd(TILE_C0, ct, ldc);
      _tile_loadd(TILE_C1, ct + kTileN, ldc);
      _tile_loadd(TILE_C2, cb, ldc);
      _tile_loadd(TILE_C3, cb + kTileN, ldc);
      const uint16_t* b = panel + rb / (2 * kTileN) * steps * 2 * kTileElems;
      for (int64_t s = 0; s < steps; ++s, b += 2 * kTileElems) {
        _tile_loadd(TILE_B0, b, 64);
        _tile_loadd(TILE_B1, b + kTileElems, 64);
        for (int p = kParts - 1; p >= 0; --p) {  // the smallest part first
          const int64_t at = (s * kParts + p) * kTileElems;
          _tile_loadd(TILE_A, a0 + at, lda);
          _tile_loadd(TILE_A2, a1 + at, lda);
          _tile_dpbf16ps(TILE_C0, TILE_A, TILE_B0);
          _tile_dpbf16ps(TILE_C1, TILE_A, TILE_B1);
          _tile_dpbf16ps(TILE_C2, TILE_A2, TILE_B0);
          _tile_dpbf16ps(TILE_C3, TILE_A2, TILE_B1);
        }
      }
      _tile_stored(TILE_C0, ct, ldc);
      _tile_stored(TILE_C1, ct + kTileN, ldc);
      _tile_stored(TILE_C2, cb, ldc);
      _tile_stored(TILE_C3, cb + kTileN, ldc);
    }
  }
  // The last row block, alone: C tiles for 16 rows x 32 columns.
  for (; tb < x.tp; tb += kTileRows) {
    const uint16_t* a = x.parts + a_tile(x, tb, k0 / kTileK, 0);
    for (int64_t rb = 0; rb < rows; rb += 2 * kTileN) {
      float* ct = c + tb * kPanelN + rb;
      _tile_loadd(TILE_C0, ct, ldc);
      _tile_loadd(TILE_C1, ct + kTileN, ldc);
      const uint16_t* b = panel + rb / (2 * kTileN) * steps * 2 * kTileElems;
      for (int64_t s = 0; s < steps; ++s, b += 2 * kTileElems) {
        _tile_loadd(TILE_B0, b, 64);
        _tile_loadd(TILE_B1, b + kTileElems, 64);
        for (int p = kParts - 1; p >= 0; --p) {  // the smallest part first
          _tile_loadd(TILE_A, a + (s * kParts + p) * kTileElems, lda);
          _tile_dpbf16ps(TILE_C0, TILE_A, TILE_B0);
          _tile_dpbf16ps(TILE_C1, TILE_A, TILE_B1);
        }
      }
      _tile_stored(TILE_C0, ct, ldc);
      _tile_stored(TILE_C1, ct + kTileN, ldc);
    }
  }
}

// y[t, n0 + j] = (or += when add) c[t, j] * the scale of W row n0 + j for group g (1 without
// scales), for t < T and j < rows; c is left zero for the next group or panel (its padding rows
// stay zero: their A tiles are zero).
void fold(const WeightMatrix& w, int64_t g, int64_t t, int64_t n0, int64_t rows, float* c, float* y,
          bool add) {
  for (int64_t r = 0; r < t; ++r) {
    float* cr = c + r * kPanelN;
    float* yr = y + r * w.n + n0;
    for (int64_t j = 0; j < rows; j += 16) {
      const __mmask16 m = rows - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (rows - j)) - 1);
      __m512 v = _mm512_maskz_loadu_ps(m, cr + j);
      if (w.scales) {
        // Scales of rows n0 + j .. are G apart.
        const __m512i idx = _mm512_mullo_epi32(
            _mm512_add_epi32(
                _mm512_set1_epi32(int(j)),
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)),
            _mm512_set1_epi32(int(w.groups)));
        v = _mm512_mul_ps(
            v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, w.scales + (n0 * w.groups + g),
                                        sizeof(float)));
      }
      if (add) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, yr + j));
      _mm512_mask_storeu_ps(yr + j, m, v);
    }
    std::memset(cr, 0, sizeof(float) * size_t(rows));
  }
}

#undef TILE_C0
#undef TILE_C1
#undef TILE_C2
#undef TILE_C3
#undef TILE_A
#undef TILE_A2
#undef TILE_B0
#undef TILE_B1

}  // namespace

bool supports(const WeightMatrix& w) {
  const bool exact = w.dtype == DType::BF16 || w.dtype == DType::I8 || w.dtype == DType::F8_E4M3;
  const bool groups_ok = !w.scales || w.groups == 1 || (w.k / w.groups) % kTileK == 0;
  return exact && groups_ok && w.n >= 2 * kTileN && w.k >= kTileK;
}

size_t split_bytes(int64_t t, int64_t k) {
  return size_t(kParts) * size_t(round_up(t, kTileRows)) * size_t(round_up(k, kTileK)) *
         sizeof(uint16_t);
}

SplitX split_layout(int64_t t, int64_t k, uint16_t* buf) {
  return SplitX{buf, t, round_up(t, kTileRows), k, round_up(k, kTileK)};
}

void split_rows(const float* x, const SplitX& s, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const float* xr = x + t * s.k;
    for (int64_t k = 0; k < s.kp; k += 16) {
      const int64_t n = std::min<int64_t>(16, std::max<int64_t>(0, s.k - k));
      __m512 v = _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), xr + k);
      uint16_t* out = s.parts + a_tile(s, t, k / kTileK, 0) + t % kTileRows * kTileK + k % kTileK;
      for (int p = 0; p < kParts; ++p) {
        const __m256bh h = _mm512_cvtneps_pbh(v);  // round to nearest even
        const __m256i hb = _mm512_castsi512_si256(bits(h));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + p * kTileElems), hb);
        v = _mm512_sub_ps(v, widen_bf16(hb));  // exact: what the part left
      }
    }
  }
  if (t1 == s.t)  // the padding rows: zero in every tile of the last row block
    for (int64_t t = s.t; t < s.tp; ++t)
      for (int64_t ks = 0; ks < s.kp / kTileK; ++ks)
        for (int p = 0; p < kParts; ++p)
          std::memset(s.parts + a_tile(s, t, ks, p) + t % kTileRows * kTileK, 0,
                      sizeof(uint16_t) * kTileK);
}

void matmul_range(const SplitX& x, const WeightMatrix& w, int64_t n0, int64_t n1, float* y,
                  bool accumulate) {
  // Without scales, or one per row, the groups are irrelevant: one group of all of K, whose
  // padded columns are zero on both sides.
  const bool grouped = w.scales && w.groups > 1;
  const int64_t groups = grouped ? w.groups : 1;
  const int64_t group_len = grouped ? w.k / w.groups : x.kp;
  float* c = thread_scratch(ScratchSlot::AmxC, size_t(x.tp * kPanelN));
  auto* panel = reinterpret_cast<uint16_t*>(
      thread_scratch(ScratchSlot::AmxPanel, size_t(kPanelN * kPanelK / 2)));
  std::memset(c, 0, sizeof(float) * size_t(x.tp * kPanelN));  // then each fold leaves it zero
  load_tile_config();
  for (int64_t nb = n0; nb < n1; nb += kPanelN) {
    const int64_t rows = std::min(kPanelN, n1 - nb);
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t kb = g * group_len; kb < (g + 1) * group_len; kb += kPanelK) {
        const int64_t cols = std::min(kPanelK, (g + 1) * group_len - kb);
        convert_panel(w, nb, rows, kb, cols, panel);
        multiply_panel(x, kb, panel, rows, cols / kTileK, c);
      }
      fold(w, grouped ? g : 0, x.t, nb, rows, c, y, accumulate || g > 0);
    }
  }
  _tile_release();
}

}  // namespace moescope::kernels::isa_amx
