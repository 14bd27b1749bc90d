// RMSNorm and its fused residual form (grok-architecture.md 2.1, 2.3):
//   y = w * x / sqrt(mean(x^2) + eps), eps inside the sqrt, weight as-is (not 1 + w).
// Shape legend: T rows, D features.
#include "kernels/cpu/rmsnorm.h"

#include <algorithm>
#include <cmath>

namespace moescope::kernels {

namespace {

// 1 / sqrt(mean(x^2) + eps) of one row. The sum of squares runs in double (four accumulators
// the compiler can keep in one vector register) so that D = 8192 squares lose nothing; the
// row is read once more by the caller, so this costs little.
float inv_rms(const float* x, int64_t d, float eps) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= d; i += 4) {
    s0 += double(x[i]) * x[i];
    s1 += double(x[i + 1]) * x[i + 1];
    s2 += double(x[i + 2]) * x[i + 2];
    s3 += double(x[i + 3]) * x[i + 3];
  }
  for (; i < d; ++i) s0 += double(x[i]) * x[i];
  const double mean = ((s0 + s1) + (s2 + s3)) / double(d);
  return float(1.0 / std::sqrt(mean + double(eps)));
}

// Calls rows(r0, r1) over [0, t), shared out over pool when there are enough rows to pay for a
// loop (a decode step's one row never is).
template <class Rows>
void over_rows(int64_t t, int64_t d, ThreadPool* pool, Rows&& rows) {
  constexpr int64_t kMinElements = 16384;  // per thread
  const int64_t min_rows = std::max<int64_t>(1, kMinElements / std::max<int64_t>(d, 1));
  if (!pool || pool->size() == 1 || t < 2 * min_rows) {
    rows(0, t);
    return;
  }
  pool->parallel_for(t, rows, min_rows);
}

}  // namespace

void rmsnorm(const float* x, const float* w, float eps, int64_t t, int64_t d, float* y,
             ThreadPool* pool) {
  over_rows(t, d, pool, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * d;
      float* yr = y + r * d;  // may be xr: each element is read before it is written
      const float inv = inv_rms(xr, d, eps);
      for (int64_t i = 0; i < d; ++i) yr[i] = w[i] * (xr[i] * inv);
    }
  });
}

void rmsnorm_add(const float* x, const float* w, float eps, int64_t t, int64_t d, float* residual,
                 ThreadPool* pool) {
  over_rows(t, d, pool, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * d;
      float* hr = residual + r * d;
      const float inv = inv_rms(xr, d, eps);
      for (int64_t i = 0; i < d; ++i) hr[i] += w[i] * (xr[i] * inv);
    }
  });
}

}  // namespace moescope::kernels
