// Weights packed for the CPU kernels: WeightLayout::Packed4.
//
// Decode reads every weight once per token, so it runs at the rate memory streams the weights
// in. Row-major, a register tile of four W rows reads four streams K elements apart; with short
// rows each is a separate short stream to the hardware prefetcher, and decode stalled on DRAM
// latency well below the machine's bandwidth. Packed4 stores each block of four rows as one
// stream, in chunks of 32 bytes (one AVX2 vector) per row:
//
//   block b = rows 4b .. 4b+3, chunk c = columns c*E .. c*E+E-1, E = 32 / element size
//   (8 f32, 16 bf16/f16, 32 i8/fp8):
//     [b0 c0 r0][b0 c0 r1][b0 c0 r2][b0 c0 r3][b0 c1 r0] ... [b0 cL r3][b1 c0 r0] ...
//   rows past the last full block (the N % 4 tail) follow row-major.
//
// A block occupies the same bytes as its four rows row-major, so packing permutes elements
// inside each block: the size is unchanged, and it can run in place. Scales keep their [N, G]
// layout. Packing needs K and the scale group length K / G to be multiples of E (every
// projection of the Grok family is); other matrices stay row-major (can_pack).
//
// Shape legend: N rows, K columns, G scale groups per row, E elements per chunk.
#pragma once

#include <cstdint>

#include "kernels/cpu/matmul.h"

namespace moescope::kernels {

constexpr int64_t kPackRows = 4;    // rows interleaved per block
constexpr int64_t kPackBytes = 32;  // bytes of one row in one chunk

// E: elements of dtype in one 32-byte chunk.
inline int64_t pack_chunk_elems(DType dtype) {
  return kPackBytes / int64_t(dtype_size(dtype));
}

// Whether w (row-major) can be packed: a matmul weight dtype, N >= 4, K and K / G multiples of E.
bool can_pack(const WeightMatrix& w);

// Writes w's elements in Packed4 order to dst (n * k elements of w's dtype; dst == w.data packs
// in place) and returns the matrix over dst. w must be row-major and can_pack(w).
WeightMatrix pack_weights(const WeightMatrix& w, void* dst);

// Index, in elements from w.data, of element (row, col) in w's layout.
inline int64_t element_index(const WeightMatrix& w, int64_t row, int64_t col) {
  if (w.layout == WeightLayout::RowMajor) return row * w.k + col;
  const int64_t full = w.n / kPackRows * kPackRows;  // rows in full blocks
  if (row >= full) return row * w.k + col;           // the row-major tail
  const int64_t e = pack_chunk_elems(w.dtype);
  const int64_t block = row / kPackRows, r = row % kPackRows, chunk = col / e;
  return block * kPackRows * w.k + (chunk * kPackRows + r) * e + col % e;
}

// How many elements of row, from col on, are contiguous in memory (to the chunk's end when
// packed; to the row's end when row-major or in the tail).
inline int64_t contiguous_run(const WeightMatrix& w, int64_t row, int64_t col) {
  if (w.layout == WeightLayout::RowMajor || row >= w.n / kPackRows * kPackRows) return w.k - col;
  const int64_t e = pack_chunk_elems(w.dtype);
  return e - col % e;
}

}  // namespace moescope::kernels
