// The weights of a model bound to its configuration: every tensor found by name, its shape and
// dtype checked against the config before any compute, and exposed as kernel-ready views.
//
// Large matrices stay where the checkpoint has them (memory-mapped); small tensors (norms, router,
// quantisation scales) are converted to f32 copies. Shape legend: V vocab, D d_model, Hq/Hkv
// heads, Dh head dim, E experts, F expert FFN, Fs shared-MLP width.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/config/model_config.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/tensor_names.h"
#include "kernels/cpu/matmul.h"

namespace moescope {

using kernels::WeightMatrix;

struct ExpertWeights {
  WeightMatrix gate;  // [F, D]
  WeightMatrix up;    // [F, D]
  WeightMatrix down;  // [D, F]
};

struct LayerWeights {
  WeightMatrix wq;                                   // [Hq*Dh, D]
  WeightMatrix wk;                                   // [Hkv*Dh, D]
  WeightMatrix wv;                                   // [Hkv*Dh, D]
  WeightMatrix wo;                                   // [D, Hq*Dh]
  const float* norm_pre_attn = nullptr;              // [D]
  const float* norm_post_attn = nullptr;             // [D], null without sandwich norms
  const float* norm_pre_moe = nullptr;               // [D]
  const float* norm_post_moe = nullptr;              // [D], null without sandwich norms
  WeightMatrix router;                               // [E, D], f32
  std::vector<ExpertWeights> experts;                // E
  WeightMatrix shared_gate, shared_up, shared_down;  // [Fs, D], [Fs, D], [D, Fs]; empty if none
};

class ModelWeights {
 public:
  // Binds every tensor the config needs. Throws moescope::Error naming the tensor, its file and
  // the expected shape or dtype; also when the checkpoint holds tensors the config does not use.
  static std::shared_ptr<ModelWeights> load(std::shared_ptr<const Checkpoint> ckpt,
                                            const ModelConfig& config);

  NamingScheme scheme = NamingScheme::HpcaiGrok1;
  WeightMatrix embed;                 // [V, D]
  WeightMatrix lm_head;               // [V, D]; the embedding when tied
  const float* final_norm = nullptr;  // [D]
  std::vector<LayerWeights> layers;

  // Bytes of the checkpoint tensors in use: views into mapped files, and tensors the checkpoint
  // built at load (joined TP slices, transposed ckpt-0 matrices); and of the f32 copies made
  // here (norms, router, quantisation scales).
  size_t mapped_bytes = 0;
  size_t checkpoint_owned_bytes = 0;
  size_t owned_bytes = 0;
  // What the matrices in use would take expanded to bf16 (int8/fp8 dequantised; scales
  // dropped), and their stored bytes, for comparing weight-only quantised footprints.
  size_t bf16_expanded_bytes = 0;
  size_t matrix_bytes = 0;
  // Whether the matrices are in the CPU kernels' packed layout (cpu_packing.h); a Model packs
  // weights that are not.
  bool cpu_packed = false;
  // Bytes of the packed copies made by pack_for_cpu.
  size_t packed_bytes = 0;

 private:
  friend class WeightBinder;
  std::shared_ptr<const Checkpoint> ckpt_;
  std::vector<std::vector<float>> owned_;
};

}  // namespace moescope
