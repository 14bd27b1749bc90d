// Every weight tensor a model of a given config has, as roles independent of the naming scheme,
// so a conversion can map each tensor of one scheme to its name in another (and verification
// can pair them up again).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/config/model_config.h"
#include "engine/weights/tensor_names.h"

namespace moescope {

struct WeightRole {
  enum Kind : uint8_t {
    Embed,
    LmHead,
    FinalNorm,
    Query,
    Key,
    Value,
    Out,
    NormPreAttn,
    NormPostAttn,
    NormPreMoe,
    NormPostMoe,
    Router,
    ExpertGate,
    ExpertUp,
    ExpertDown,
    SharedGate,
    SharedUp,
    SharedDown,
  };
  Kind kind = Embed;
  int64_t layer = -1;
  int64_t expert = -1;

  // The tensor's name under names ("" when the scheme has no such tensor, e.g. Mixtral's post
  // norms).
  std::string name(const TensorNames& names) const;
  // A projection matrix (attention, expert or shared MLP): the weights int8 conversion quantises.
  bool is_projection() const;
};

// The roles of c's weights in file order: embedding, lm_head (untied only), final norm, then
// per layer attention, norms, router, experts, shared MLP.
std::vector<WeightRole> weight_roles(const ModelConfig& c);

}  // namespace moescope
