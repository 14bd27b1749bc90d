// Random weights built in memory for a configuration, in any matrix dtype the engine reads, for
// benchmarks: no checkpoint on disk (tinyC in bf16 is ~1.2 GB) and no load time.
//
// Values follow the tests' random checkpoints (tests/common/tiny_checkpoint.h) in scale: matrices
// uniform with standard deviation ~1/sqrt(fan_in) (q, k and router twice that), the embedding
// 1/embed_multiplier, norms 1 +- 0.17. Uniform instead of normal because a counter-based hash
// fills ~600M values in about a second; throughput does not depend on the distribution.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/config/model_config.h"
#include "engine/weights/model_weights.h"

namespace moescope {

struct SyntheticWeightOptions {
  // Every matrix (embedding/output, attention, experts, shared MLP): F32, BF16, F16 or I8. The
  // router and the norms stay f32, as the loader keeps them.
  kernels::DType dtype = kernels::DType::F32;
  // I8 only: scale groups per row (scales [N, G], W[n, k] = q[n, k] * scale[n, k / (K / G)]);
  // must divide every matrix's K.
  int64_t int8_groups = 1;
  uint64_t seed = 1;
  // Build the matrices in the CPU kernels' packed layout (cpu_packing.h), in place: a Model then
  // uses them without a packed copy. Sharding (engine/parallel) needs them row-major.
  bool pack_for_cpu = false;
};

// The weights of c, owned by the returned object. Throws moescope::Error for an unsupported
// dtype or a group count that does not divide a matrix's K (naming the matrix and K).
std::shared_ptr<const ModelWeights> synthetic_weights(const ModelConfig& c,
                                                      const SyntheticWeightOptions& options);

}  // namespace moescope
