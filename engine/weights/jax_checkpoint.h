// Grok-1's original JAX checkpoint directory `ckpt-0` (grok-architecture.md 4.1): 770 pickles
// named tensor{i:05d}_000, file i = leaf i of the parameters flattened in sorted module-path
// order (so layers come in string order 0, 1, 10, 11, ..., 19, 2, 20, ...). Checkpoint::open
// reads such a directory (layout in jax_layout.cpp); this header names the files and parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

// What one ckpt-0 file holds (the Haiku module; [in, out] JAX layout).
enum class JaxRole : uint8_t {
  Embed,         // language_model/in_out_embed: embeddings [V, D]
  FinalNorm,     // language_model/rms_norm: scale [D]
  MoeGate,       // moe/linear: w [E, D, F]
  MoeDown,       // moe/linear_1: w [E, F, D]
  MoeUp,         // moe/linear_v: w [E, D, F]
  AttnKey,       // multi_head_attention/key: w [D, Hkv*Dh]
  AttnOut,       // multi_head_attention/linear: w [Hq*Dh, D]
  AttnQuery,     // multi_head_attention/query: w [D, Hq*Dh]
  AttnValue,     // multi_head_attention/value: w [D, Hkv*Dh]
  NormPreAttn,   // rms_norm
  NormPostAttn,  // rms_norm_1
  NormPreMoe,    // rms_norm_2
  NormPostMoe,   // rms_norm_3
  Router,        // router: w [D, E]
};

struct JaxParam {
  std::string module;  // "transformer/decoder_layer_10/moe/linear"
  std::string param;   // "w", "scale" or "embeddings"
  JaxRole role = JaxRole::Embed;
  int64_t layer = -1;  // -1 for the embedding and the final norm

  std::string path() const { return module + "/" + param; }
};

// The parameters of an n_layers model in file order: params[i] is in jax_file_name(i).
std::vector<JaxParam> jax_param_order(int64_t n_layers);

// "tensor00012_000": the file of leaf index on host 0.
std::string jax_file_name(size_t index);

}  // namespace moescope
