// RMSNorm: y = w * x / sqrt(mean(x^2) + eps), per row (grok-architecture.md 2.1).
// The weight multiplies directly (not 1 + w). Shape legend: T rows, D features.
#pragma once

#include <cstdint>

#include "kernels/cpu/thread_pool.h"

namespace moescope::kernels {

// y[T, D] = rmsnorm(x[T, D]) * w[D]. y may alias x. With a pool, many rows are shared out (each
// row's result does not depend on the split).
void rmsnorm(const float* x, const float* w, float eps, int64_t t, int64_t d, float* y,
             ThreadPool* pool = nullptr);

// residual[T, D] += rmsnorm(x[T, D]) * w[D]: the post-branch ("sandwich") norm fused with the
// residual add. x is not modified. A pool as for rmsnorm.
void rmsnorm_add(const float* x, const float* w, float eps, int64_t t, int64_t d, float* residual,
                 ThreadPool* pool = nullptr);

}  // namespace moescope::kernels
