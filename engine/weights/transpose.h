// Transposing row-major matrices of any element size, for checkpoints stored [in, out] (JAX)
// that the kernels read as [out, in] (weights/checkpoint layouts; internal).
#pragma once

#include <cstddef>
#include <cstdint>

namespace moescope::weights_detail {

// dst[c, r] = src[r, c] for a [rows, cols] matrix of elem-byte elements (elem 1, 2, 4 or 8).
// Cache-blocked; large matrices are split over the hardware threads.
void transpose(const void* src, void* dst, int64_t rows, int64_t cols, size_t elem);

}  // namespace moescope::weights_detail
