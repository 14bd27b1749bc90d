// Shared helpers of the kernel tests: seeded random inputs and weight matrices of every dtype.
//
// Inputs are always random (never zeros: a kernel that ignores an input must fail) and come from
// fixed seeds, so a failure reproduces.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/dtype.h"
#include "kernels/cpu/matmul.h"

namespace moescope::test {

// n values uniform in [lo, hi).
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A WeightMatrix together with the storage it points into. Shape legend: N rows, K columns,
// G scale groups per row.
struct OwnedWeights {
  // Moves keep the vectors' buffers (and so w's pointers); copies would not.
  OwnedWeights() = default;
  OwnedWeights(OwnedWeights&&) = default;
  OwnedWeights(const OwnedWeights&) = delete;
  std::vector<uint8_t> bytes;  // [N, K] elements of the dtype
  std::vector<float> scales;   // [N, G] or empty
  kernels::WeightMatrix w;
};

// Random [N, K] weights of dtype: floats uniform in [-1, 1) rounded to the dtype, I8 uniform in
// [-127, 127], F8_E4M3 any byte but the two NaNs (so subnormals and +-448 occur). With groups >
// 0, scales[N, groups] are set, uniform in [0.25, 2) * 0.01 so that every row and group differs;
// groups == 0 means no scales.
inline OwnedWeights random_weights(kernels::DType dtype, int64_t n, int64_t k, int64_t groups,
                                   uint32_t seed) {
  using kernels::DType;
  OwnedWeights o;
  const size_t count = size_t(n * k);
  o.bytes.resize(count * kernels::dtype_size(dtype));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  switch (dtype) {
    case DType::F32: {
      auto* p = reinterpret_cast<float*>(o.bytes.data());
      for (size_t i = 0; i < count; ++i) p[i] = unit(rng);
      break;
    }
    case DType::BF16:
    case DType::F16: {
      auto* p = reinterpret_cast<uint16_t*>(o.bytes.data());
      for (size_t i = 0; i < count; ++i)
        p[i] =
            dtype == DType::BF16 ? kernels::f32_to_bf16(unit(rng)) : kernels::f32_to_f16(unit(rng));
      break;
    }
    case DType::I8: {
      std::uniform_int_distribution<int> q(-127, 127);
      auto* p = reinterpret_cast<int8_t*>(o.bytes.data());
      for (size_t i = 0; i < count; ++i) p[i] = int8_t(q(rng));
      break;
    }
    case DType::F8_E4M3: {
      std::uniform_int_distribution<int> q(0, 255);
      for (size_t i = 0; i < count; ++i) {
        int b;
        do b = q(rng);
        while ((b & 0x7f) == 0x7f);
        o.bytes[i] = uint8_t(b);
      }
      break;
    }
    default:
      break;
  }
  if (groups > 0) o.scales = random_floats(size_t(n * groups), seed + 1, 0.0025f, 0.02f);
  o.w.dtype = dtype;
  o.w.data = o.bytes.data();
  o.w.n = n;
  o.w.k = k;
  o.w.scales = groups > 0 ? o.scales.data() : nullptr;
  o.w.groups = groups > 0 ? groups : 1;
  return o;
}

}  // namespace moescope::test
