// The numeric values of a checkpoint tensor, whatever its storage: f32 rows of a float tensor,
// or of an int8/fp8 matrix with its scales applied (W[n, k] = q[n, k] * s[n, k / (K / G)]).
// Used by conversion (to bf16, to int8) and by its verification (internal to engine/convert).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/weights/safetensors.h"

namespace moescope::convert_detail {

class TensorValues {
 public:
  // weight, and its scales (null when it has none). Throws naming the tensors when the scales do
  // not fit ([N, G] with G dividing K, [N], or a single value).
  TensorValues(const TensorView& weight, const TensorView* scales);

  int64_t rows() const { return rows_; }  // shape[0] (1 for a scalar or vector)
  int64_t cols() const { return cols_; }  // the remaining elements per row
  bool quantised() const { return scales_ != nullptr; }
  // out[(r1 - r0) * cols] = values of rows [r0, r1).
  void rows_f32(int64_t r0, int64_t r1, float* out) const;

 private:
  const TensorView& w_;
  const TensorView* scales_;
  int64_t rows_ = 1, cols_ = 1, groups_ = 1;
  std::vector<float> s_;  // [rows, groups]
};

// Rows processed per chunk when converting or comparing: bounded scratch for large tensors.
int64_t chunk_rows(int64_t cols);

// Symmetric int8 of rows [n, K] in groups of K / groups columns: bf16 scales rounded up to
// amax / 127 (so no value clips), q = round(w / s). q [n, K], scales [n, groups] (bf16 bits).
void quantise_rows(const float* w, int64_t n, int64_t k, int64_t groups, int8_t* q,
                   uint16_t* scales);

}  // namespace moescope::convert_detail
