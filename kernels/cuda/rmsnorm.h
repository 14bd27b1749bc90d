// RMSNorm on the GPU, f32: y = w * x / sqrt(mean(x^2) + eps) per row (grok-architecture.md 2.1),
// the same contract as kernels/cpu/rmsnorm.h. Shape legend: T rows, D features.
#pragma once

#include <cstdint>
#include <string>

namespace moescope::kernels::cuda {

// Device pointers; y may alias x. Launches on the default stream; returns "" or the CUDA error.
std::string rmsnorm_f32(const float* x, const float* w, float eps, int64_t t, int64_t d, float* y);

// Host convenience for tests: copies in, runs, copies out. Returns "" or the CUDA error.
std::string rmsnorm_f32_host(const float* x, const float* w, float eps, int64_t t, int64_t d,
                             float* y);

}  // namespace moescope::kernels::cuda
