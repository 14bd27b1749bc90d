// Bytes moved and floating-point operations of the forward pass's ops, recorded with every op
// event so that achieved GB/s and GFLOP/s can be computed against the machine's ceilings.
// Counts are the algorithmic minimum: weights read once, activations read and written once.
#pragma once

#include <cstdint>

#include "kernels/cpu/matmul.h"

namespace moescope {

struct OpCost {
  int64_t bytes = 0;
  int64_t flops = 0;
};

// The cost of two ops done as one (matmuls that share their input: x counts once per product,
// as each re-reads it).
inline OpCost operator+(OpCost a, OpCost b) {
  return {a.bytes + b.bytes, a.flops + b.flops};
}

// y[T, N] = x[T, K] . W^T: the weights (and scales), x read, y written; 2 flops per multiply-add.
inline OpCost matmul_cost(const kernels::WeightMatrix& w, int64_t t) {
  const int64_t weights =
      w.n * w.k * int64_t(kernels::dtype_size(w.dtype)) + (w.scales ? w.n * w.groups * 4 : 0);
  return {weights + 4 * t * (w.k + w.n), 2 * t * w.n * w.k};
}

// Elementwise pass over n floats reading `reads` and writing `writes` arrays, `flops` per element.
inline OpCost elementwise_cost(int64_t n, int64_t reads, int64_t writes, int64_t flops) {
  return {4 * n * (reads + writes), flops * n};
}

// Causal attention of T queries at p0.. over S = p0 + T keys: q.k and p.v for each visible key.
inline OpCost attention_cost(int64_t t, int64_t p0, int64_t n_heads, int64_t n_kv_heads,
                             int64_t head_dim) {
  const int64_t visible = t * p0 + t * (t + 1) / 2;  // sum over queries of keys <= position
  const int64_t kv = 2 * 4 * (p0 + t) * n_kv_heads * head_dim;
  return {kv + 2 * 4 * t * n_heads * head_dim, 4 * visible * n_heads * head_dim};
}

}  // namespace moescope
