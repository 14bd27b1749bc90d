// Small random checkpoints in any naming scheme and dtype, written exactly as real ones are
// (config.json in the family's keys + model.safetensors), for loader, model and CLI tests.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/config/model_config.h"
#include "engine/weights/tensor_names.h"
#include "kernels/cpu/dtype.h"

namespace moescope::test {

// A tiny configuration of each family: V 96, D 32, L 2, Hq 4 / Hkv 2 x Dh 8, E 4 top-2, F 16,
// (Grok-2: shared MLP 24, temperature length 4), context 64.
ModelConfig tiny_config(Arch arch);

// config.json text for c, in the keys its family's checkpoints use.
std::string config_json(const ModelConfig& c);

// f32 values and shapes of every tensor of a model, by checkpoint name.
struct TensorSet {
  std::map<std::string, std::vector<float>> values;
  std::map<std::string, std::vector<int64_t>> shapes;
};

// Random weights for c under scheme; matrices ~ N(0, 1/fan_in), norms ~ 1 + N(0, 0.1).
TensorSet random_weights(const ModelConfig& c, NamingScheme scheme, uint64_t seed);

struct WriteOptions {
  kernels::DType matrix_dtype = kernels::DType::F32;  // F32, BF16, F16, I8 (+ scales), F8_E4M3
  int64_t int8_groups = 2;                            // scale groups along K for I8
  std::set<std::string> omit;                         // tensors left out (bad-input tests)
  std::string file = "model.safetensors";
};

// Writes config.json and the weights into dir (created). Matrices (2-D tensors other than the
// router) are stored as matrix_dtype; norms and router stay f32. Returns the values the stored
// tensors decode to (after rounding or quantisation), so an f32 twin can be written from them.
TensorSet write_checkpoint(const std::string& dir, const ModelConfig& c, const TensorSet& weights,
                           const WriteOptions& options = {});

}  // namespace moescope::test
