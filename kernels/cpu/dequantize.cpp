// Dequantisation of WeightMatrix elements to f32: one element (WeightMatrix::at, for references
// and tests), whole rows (dequantize_rows, for embedding lookups) and cache-sized blocks
// (dequantize_block, for the prefill path of matmul), in either layout (weight_packing.h).
//
// Shape legend: N rows, K columns, G scale groups of K / G columns each.
// W[n, k] = convert(q[n, k]) * scales[n, k / (K / G)], the scale factor only when scales is set.
#include <algorithm>
#include <cassert>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/weight_packing.h"

namespace moescope::kernels {

namespace {

// Checks the parts of a WeightMatrix that every reader relies on.
[[maybe_unused]] bool valid(const WeightMatrix& w) {
  bool dtype_ok = w.dtype == DType::F32 || w.dtype == DType::BF16 || w.dtype == DType::F16 ||
                  w.dtype == DType::I8 || w.dtype == DType::F8_E4M3;
  bool groups_ok = w.groups >= 1 && w.k % w.groups == 0;
  bool scales_ok = w.dtype != DType::I8 || w.scales != nullptr;
  return dtype_ok && groups_ok && scales_ok && w.data != nullptr && w.n >= 0 && w.k >= 0;
}

// n f32 values of q times s into o.
template <class L>
inline void convert_scaled(const typename L::elem* q, int64_t n, float s, float* o) {
  int64_t i = 0;
#if MOESCOPE_SIMD_AVX2
  const __m256 sv = _mm256_set1_ps(s);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_mul_ps(L::load8(q + i), sv));
#endif
  for (; i < n; ++i) o[i] = L::scalar(q + i) * s;
}

// One row's columns [c0, c1) into out, with the scale of each group applied.
template <class L>
void dequantize_row(const WeightMatrix& w, int64_t row, int64_t c0, int64_t c1, float* out) {
  const auto* q = static_cast<const typename L::elem*>(w.data);
  const int64_t group_len = w.k / w.groups;
  int64_t c = c0;
  while (c < c1) {
    // [c, seg_end) shares the factor s and is contiguous in memory (one chunk when packed).
    const int64_t g = c / group_len;
    const int64_t seg_end = std::min({c1, (g + 1) * group_len, c + contiguous_run(w, row, c)});
    const float s = w.scales ? w.scales[row * w.groups + g] : 1.0f;
    const auto* p = q + element_index(w, row, c);
    float* o = out + (c - c0);
    convert_scaled<L>(p, seg_end - c, s, o);
    c = seg_end;
  }
}

template <class L>
void dequantize_block_typed(const WeightMatrix& w, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                            float* out, int64_t ld) {
  int64_t r = r0;
  constexpr int64_t E = kPackBytes / int64_t(sizeof(typename L::elem));
  if (w.layout == WeightLayout::Packed4 && c0 % E == 0 && c1 % E == 0) {
    // Whole blocks over whole chunks (how matmul's prefill path asks): walk the chunks of four
    // rows in memory order; a chunk never straddles a scale group (can_pack).
    const auto* q = static_cast<const typename L::elem*>(w.data);
    const int64_t full = std::min(r1, w.n / kPackRows * kPackRows), group_len = w.k / w.groups;
    for (; r % kPackRows == 0 && r + kPackRows <= full; r += kPackRows) {
      const typename L::elem* chunk = q + r * w.k + c0 / E * kPackRows * E;
      int64_t g = c0 / group_len, group_end = (g + 1) * group_len;
      float s[kPackRows];
      auto load_scales = [&] {
        for (int64_t i = 0; i < kPackRows; ++i)
          s[i] = w.scales ? w.scales[(r + i) * w.groups + g] : 1.0f;
      };
      load_scales();
      for (int64_t c = c0; c < c1; c += E, chunk += kPackRows * E) {
        if (c >= group_end) {  // no division per chunk: groups are walked in order
          ++g;
          group_end += group_len;
          load_scales();
        }
        for (int64_t i = 0; i < kPackRows; ++i)
          convert_scaled<L>(chunk + i * E, E, s[i], out + (r - r0 + i) * ld + (c - c0));
      }
    }
  }
  for (; r < r1; ++r) dequantize_row<L>(w, r, c0, c1, out + (r - r0) * ld);
}

}  // namespace

float WeightMatrix::at(int64_t row, int64_t col) const {
  assert(valid(*this) && row >= 0 && row < n && col >= 0 && col < k);
  const int64_t i = element_index(*this, row, col);
  float v = 0.0f;
  switch (dtype) {
    case DType::F32:
      v = static_cast<const float*>(data)[i];
      break;
    case DType::BF16:
      v = bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
      break;
    case DType::F16:
      v = f16_to_f32(static_cast<const uint16_t*>(data)[i]);
      break;
    case DType::I8:
      v = float(static_cast<const int8_t*>(data)[i]);
      break;
    case DType::F8_E4M3:
      v = fp8_e4m3_to_f32(static_cast<const uint8_t*>(data)[i]);
      break;
    default:
      assert(false && "matmul weights are F32, BF16, F16, I8 or F8_E4M3");
  }
  return scales ? v * scales[row * groups + col / (k / groups)] : v;
}

void dequantize_block(const WeightMatrix& w, int64_t row_begin, int64_t row_end, int64_t col_begin,
                      int64_t col_end, float* out, int64_t ld) {
  assert(valid(w));
  assert(0 <= row_begin && row_begin <= row_end && row_end <= w.n);
  assert(0 <= col_begin && col_begin <= col_end && col_end <= w.k && ld >= col_end - col_begin);
  switch (w.dtype) {
    case DType::F32:
      dequantize_block_typed<simd::LoadF32>(w, row_begin, row_end, col_begin, col_end, out, ld);
      return;
    case DType::BF16:
      dequantize_block_typed<simd::LoadBF16>(w, row_begin, row_end, col_begin, col_end, out, ld);
      return;
    case DType::F16:
      dequantize_block_typed<simd::LoadF16>(w, row_begin, row_end, col_begin, col_end, out, ld);
      return;
    case DType::I8:
      dequantize_block_typed<simd::LoadI8>(w, row_begin, row_end, col_begin, col_end, out, ld);
      return;
    case DType::F8_E4M3:
      dequantize_block_typed<simd::LoadF8E4M3>(w, row_begin, row_end, col_begin, col_end, out, ld);
      return;
    default:
      assert(false && "matmul weights are F32, BF16, F16, I8 or F8_E4M3");
  }
}

void dequantize_rows(const WeightMatrix& w, int64_t row_begin, int64_t row_end, float* out) {
  dequantize_block(w, row_begin, row_end, 0, w.k, out, w.k);
}

}  // namespace moescope::kernels
