// The ckpt-0 file order: JAX flattens the Haiku parameter dict {module path: {name: array}} with
// its keys sorted as strings, so file i is the i-th module path in sorted order.
#include <algorithm>
#include <cstdio>

#include "engine/core/error.h"
#include "engine/weights/jax_checkpoint.h"

namespace moescope {

std::vector<JaxParam> jax_param_order(int64_t n_layers) {
  std::vector<JaxParam> out;
  out.push_back({"language_model/in_out_embed", "embeddings", JaxRole::Embed, -1});
  out.push_back({"language_model/rms_norm", "scale", JaxRole::FinalNorm, -1});
  struct Part {
    const char* sub;
    const char* param;
    JaxRole role;
  };
  static const Part parts[] = {
      {"moe/linear", "w", JaxRole::MoeGate},
      {"moe/linear_1", "w", JaxRole::MoeDown},
      {"moe/linear_v", "w", JaxRole::MoeUp},
      {"multi_head_attention/key", "w", JaxRole::AttnKey},
      {"multi_head_attention/linear", "w", JaxRole::AttnOut},
      {"multi_head_attention/query", "w", JaxRole::AttnQuery},
      {"multi_head_attention/value", "w", JaxRole::AttnValue},
      {"rms_norm", "scale", JaxRole::NormPreAttn},
      {"rms_norm_1", "scale", JaxRole::NormPostAttn},
      {"rms_norm_2", "scale", JaxRole::NormPreMoe},
      {"rms_norm_3", "scale", JaxRole::NormPostMoe},
      {"router", "w", JaxRole::Router},
  };
  for (int64_t l = 0; l < n_layers; ++l)
    for (const Part& p : parts)
      out.push_back({cat("transformer/decoder_layer_", l, "/", p.sub), p.param, p.role, l});
  std::sort(out.begin(), out.end(),
            [](const JaxParam& a, const JaxParam& b) { return a.module < b.module; });
  return out;
}

std::string jax_file_name(size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "tensor%05zu_000", index);
  return name;
}

}  // namespace moescope
