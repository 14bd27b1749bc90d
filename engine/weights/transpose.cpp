#include "engine/weights/transpose.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace moescope::weights_detail {

namespace {

constexpr int64_t kTile = 64;                // 64 x 64 tiles: 4 KiB of int8, 16 KiB of f32
constexpr int64_t kParallelBytes = 8 << 20;  // below this one thread is faster than waking more

// Elements are copied with memcpy: the source may be a view into a pickle at any byte offset.
template <typename T>
void transpose_rows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols, int64_t r0,
                    int64_t r1) {
  constexpr size_t e = sizeof(T);
  for (int64_t rb = r0; rb < r1; rb += kTile)
    for (int64_t cb = 0; cb < cols; cb += kTile) {
      const int64_t re = std::min(rb + kTile, r1), ce = std::min(cb + kTile, cols);
      for (int64_t c = cb; c < ce; ++c)
        for (int64_t r = rb; r < re; ++r) {
          T v;
          std::memcpy(&v, src + size_t(r * cols + c) * e, e);
          std::memcpy(dst + size_t(c * rows + r) * e, &v, e);
        }
    }
}

#if defined(__SSE2__)
// One 16 x 16 block of bytes: four rounds of interleaving row i with row i + 8 (a perfect shuffle)
// transpose it.
inline void transpose_16x16(const uint8_t* src, int64_t src_stride, uint8_t* dst,
                            int64_t dst_stride) {
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i)
    r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * src_stride));
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm_unpacklo_epi8(r[i], r[i + 8]);
      t[2 * i + 1] = _mm_unpackhi_epi8(r[i], r[i + 8]);
    }
    for (int i = 0; i < 16; ++i) r[i] = t[i];
  }
  for (int i = 0; i < 16; ++i)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * dst_stride), r[i]);
}

// Bytes (int8 weights, the bulk of a ckpt-0): whole 16 x 16 blocks with SSE2, edges one by one.
template <>
void transpose_rows<uint8_t>(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols,
                             int64_t r0, int64_t r1) {
  for (int64_t rb = r0; rb < r1; rb += kTile)
    for (int64_t cb = 0; cb < cols; cb += kTile) {
      const int64_t re = std::min(rb + kTile, r1), ce = std::min(cb + kTile, cols);
      for (int64_t r = rb; r < re; r += 16)
        for (int64_t c = cb; c < ce; c += 16) {
          if (r + 16 <= re && c + 16 <= ce) {
            transpose_16x16(src + r * cols + c, cols, dst + c * rows + r, rows);
            continue;
          }
          for (int64_t i = r; i < std::min(r + 16, re); ++i)
            for (int64_t j = c; j < std::min(c + 16, ce); ++j)
              dst[j * rows + i] = src[i * cols + j];
        }
    }
}
#endif

template <typename T>
void transpose_typed(const void* src, void* dst, int64_t rows, int64_t cols) {
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  const int64_t bytes = rows * cols * int64_t(sizeof(T));
  const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const int64_t n_threads = bytes < kParallelBytes ? 1 : std::min<int64_t>(hw, rows / kTile);
  if (n_threads <= 1) {
    transpose_rows<T>(s, d, rows, cols, 0, rows);
    return;
  }
  // Whole tiles of source rows per thread, so no two threads write the same cache line often.
  const int64_t tiles = (rows + kTile - 1) / kTile;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < n_threads; ++t) {
    const int64_t r0 = tiles * t / n_threads * kTile;
    const int64_t r1 = std::min(rows, tiles * (t + 1) / n_threads * kTile);
    threads.emplace_back([=] { transpose_rows<T>(s, d, rows, cols, r0, r1); });
  }
  for (auto& th : threads) th.join();
}

}  // namespace

void transpose(const void* src, void* dst, int64_t rows, int64_t cols, size_t elem) {
  switch (elem) {
    case 1:
      return transpose_typed<uint8_t>(src, dst, rows, cols);
    case 2:
      return transpose_typed<uint16_t>(src, dst, rows, cols);
    case 4:
      return transpose_typed<uint32_t>(src, dst, rows, cols);
    default:
      return transpose_typed<uint64_t>(src, dst, rows, cols);
  }
}

}  // namespace moescope::weights_detail
