// One block per row: each thread accumulates a strided partial sum of squares, a shared-memory
// tree reduces it, then every thread scales its elements.
#include <cuda_runtime.h>

#include "kernels/cuda/rmsnorm.h"

namespace moescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void rmsnorm_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps,
                               int64_t d, float* __restrict__ y) {
  __shared__ float partial[kThreads];
  const float* row = x + blockIdx.x * d;
  float* out = y + blockIdx.x * d;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) sum += row[i] * row[i];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  const float inv = rsqrtf(partial[0] / float(d) + eps);
  for (int64_t i = threadIdx.x; i < d; i += kThreads) out[i] = w[i] * (row[i] * inv);
}

std::string error_string(cudaError_t e) {
  return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

}  // namespace

std::string rmsnorm_f32(const float* x, const float* w, float eps, int64_t t, int64_t d, float* y) {
  if (t == 0) return "";
  rmsnorm_kernel<<<unsigned(t), kThreads>>>(x, w, eps, d, y);
  return error_string(cudaGetLastError());
}

std::string rmsnorm_f32_host(const float* x, const float* w, float eps, int64_t t, int64_t d,
                             float* y) {
  float *dx = nullptr, *dw = nullptr;
  const size_t xb = size_t(t * d) * sizeof(float), wb = size_t(d) * sizeof(float);
  std::string err = error_string(cudaMalloc(&dx, xb));
  if (err.empty()) err = error_string(cudaMalloc(&dw, wb));
  if (err.empty()) err = error_string(cudaMemcpy(dx, x, xb, cudaMemcpyHostToDevice));
  if (err.empty()) err = error_string(cudaMemcpy(dw, w, wb, cudaMemcpyHostToDevice));
  if (err.empty()) err = rmsnorm_f32(dx, dw, eps, t, d, dx);
  if (err.empty()) err = error_string(cudaMemcpy(y, dx, xb, cudaMemcpyDeviceToHost));
  cudaFree(dx);
  cudaFree(dw);
  return err;
}

}  // namespace moescope::kernels::cuda
