// Matrix multiply of f32 activations by a weight matrix stored in any supported dtype.
//
// Shape legend: T tokens (rows of x), K input features, N output features, G scale groups.
// Weights use the PyTorch layout W[N, K] row-major, so y = x . W^T and every output is a dot
// product of two contiguous rows; or the same elements packed for the CPU kernels
// (WeightLayout::Packed4, weight_packing.h), which read four rows as one sequential stream.
// Quantised weights (I8, F8_E4M3) may carry scales[N, G]: the weight element W[n, k] = q[n, k] *
// scales[n, k / (K / G)] (symmetric, no zero point; the grouping of grok-architecture.md 4.1,
// transposed to [N, K]). G = 1 means one scale per row.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/cpu/dtype.h"
#include "kernels/cpu/thread_pool.h"

namespace moescope::kernels {

// How the N x K elements of a WeightMatrix are ordered in memory.
enum class WeightLayout : uint8_t {
  RowMajor,  // element (n, k) at n * K + k
  Packed4,   // four rows interleaved in 32-byte chunks (weight_packing.h)
};

struct WeightMatrix {
  DType dtype = DType::F32;
  const void* data = nullptr;     // [N, K] elements of dtype, in layout order
  int64_t n = 0;                  // output features (rows)
  int64_t k = 0;                  // input features (columns)
  const float* scales = nullptr;  // [N, G] f32; null = no scaling (required for I8; applied to
                                  // any dtype when present)
  int64_t groups = 1;             // G; must divide K
  WeightLayout layout = WeightLayout::RowMajor;

  // The scale groups the elements follow: groups with scales, one without (then irrelevant).
  int64_t scale_groups() const { return scales ? groups : 1; }

  // Dequantised element W[n, k] as f32 (slow; for references and tests).
  float at(int64_t row, int64_t col) const;
};

// y[T, N] = x[T, K] . W^T. Accumulates in f32. When accumulate is true, adds into y.
void matmul(const float* x, int64_t t, const WeightMatrix& w, float* y, ThreadPool* pool,
            bool accumulate = false);

// One product of a shared x: y = x . w^T.
struct MatmulOutput {
  const WeightMatrix* w;
  float* y;  // [T, w->n]
};

// y_i[T, N_i] = x[T, K] . W_i^T for every output (all W_i have the same K): the same results as
// one matmul per output, with the outputs' row blocks shared out in one parallel loop (the
// q/k/v projections, an expert's gate and up projections).
void matmul_shared_x(const float* x, int64_t t, std::span<const MatmulOutput> outs,
                     ThreadPool* pool);

// Converts rows [row_begin, row_end) of w to f32 (scales applied) into out[(row_end-row_begin), K].
void dequantize_rows(const WeightMatrix& w, int64_t row_begin, int64_t row_end, float* out);

// Converts the block rows [row_begin, row_end) x columns [col_begin, col_end) of w to f32 (scales
// applied) into out, whose rows are ld floats apart: out[r * ld + c] = W[row_begin + r,
// col_begin + c]. Used by matmul to dequantise one cache-sized tile at a time.
void dequantize_block(const WeightMatrix& w, int64_t row_begin, int64_t row_end, int64_t col_begin,
                      int64_t col_end, float* out, int64_t ld);

}  // namespace moescope::kernels
