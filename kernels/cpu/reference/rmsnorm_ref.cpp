// Reference RMSNorm (grok-architecture.md 2.1): y = w * x / sqrt(mean(x^2) + eps), in double.
// Shape legend: T rows, D features.
#include <cmath>

#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

namespace {

// 1 / sqrt(mean_j x_j^2 + eps) of one row.
double inv_rms(const float* x, int64_t d, float eps) {
  double sum_sq = 0.0;
  for (int64_t j = 0; j < d; ++j) sum_sq += double(x[j]) * double(x[j]);
  return 1.0 / std::sqrt(sum_sq / double(d) + double(eps));
}

}  // namespace

void rmsnorm_ref(const float* x, const float* w, float eps, int64_t t, int64_t d, float* y) {
  for (int64_t i = 0; i < t; ++i) {
    const double inv = inv_rms(x + i * d, d, eps);  // taken before y (maybe x) is written
    for (int64_t j = 0; j < d; ++j) y[i * d + j] = float(double(w[j]) * double(x[i * d + j]) * inv);
  }
}

void rmsnorm_add_ref(const float* x, const float* w, float eps, int64_t t, int64_t d,
                     float* residual) {
  for (int64_t i = 0; i < t; ++i) {
    const double inv = inv_rms(x + i * d, d, eps);
    for (int64_t j = 0; j < d; ++j) {
      const double normed = double(w[j]) * double(x[i * d + j]) * inv;
      residual[i * d + j] = float(double(residual[i * d + j]) + normed);
    }
  }
}

}  // namespace moescope::kernels::ref
