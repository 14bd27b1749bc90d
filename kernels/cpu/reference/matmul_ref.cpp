// Reference matmul: y[t, n] = sum_k x[t, k] * W[n, k], one double accumulator per output, each
// weight dequantised by WeightMatrix::at. Shape legend: T tokens, K inputs, N outputs.
#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

void matmul_ref(const float* x, int64_t t, const WeightMatrix& w, float* y, bool accumulate) {
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t n = 0; n < w.n; ++n) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.k; ++k) sum += double(x[i * w.k + k]) * double(w.at(n, k));
      float& out = y[i * w.n + n];
      out = accumulate ? float(double(out) + sum) : float(sum);
    }
  }
}

}  // namespace moescope::kernels::ref
