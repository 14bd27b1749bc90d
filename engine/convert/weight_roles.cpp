#include "engine/convert/weight_roles.h"

namespace moescope {

std::string WeightRole::name(const TensorNames& n) const {
  switch (kind) {
    case Embed:
      return n.embed();
    case LmHead:
      return n.lm_head();
    case FinalNorm:
      return n.final_norm();
    case Query:
      return n.attn_q(layer);
    case Key:
      return n.attn_k(layer);
    case Value:
      return n.attn_v(layer);
    case Out:
      return n.attn_o(layer);
    case NormPreAttn:
      return n.norm_pre_attn(layer);
    case NormPostAttn:
      return n.norm_post_attn(layer);
    case NormPreMoe:
      return n.norm_pre_moe(layer);
    case NormPostMoe:
      return n.norm_post_moe(layer);
    case Router:
      return n.router(layer);
    case ExpertGate:
      return n.expert_gate(layer, expert);
    case ExpertUp:
      return n.expert_up(layer, expert);
    case ExpertDown:
      return n.expert_down(layer, expert);
    case SharedGate:
      return n.shared_gate(layer);
    case SharedUp:
      return n.shared_up(layer);
    case SharedDown:
      return n.shared_down(layer);
  }
  return "";
}

bool WeightRole::is_projection() const {
  switch (kind) {
    case Query:
    case Key:
    case Value:
    case Out:
    case ExpertGate:
    case ExpertUp:
    case ExpertDown:
    case SharedGate:
    case SharedUp:
    case SharedDown:
      return true;
    default:
      return false;
  }
}

std::vector<WeightRole> weight_roles(const ModelConfig& c) {
  std::vector<WeightRole> out = {{WeightRole::Embed}};
  if (!c.tied_embeddings) out.push_back({WeightRole::LmHead});
  out.push_back({WeightRole::FinalNorm});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    for (auto k : {WeightRole::Query, WeightRole::Key, WeightRole::Value, WeightRole::Out,
                   WeightRole::NormPreAttn})
      out.push_back({k, l});
    if (c.sandwich_norm) out.push_back({WeightRole::NormPostAttn, l});
    out.push_back({WeightRole::NormPreMoe, l});
    if (c.sandwich_norm) out.push_back({WeightRole::NormPostMoe, l});
    out.push_back({WeightRole::Router, l});
    for (int64_t e = 0; e < c.n_experts; ++e)
      for (auto k : {WeightRole::ExpertGate, WeightRole::ExpertUp, WeightRole::ExpertDown})
        out.push_back({k, l, e});
    if (c.shared_ffn > 0)
      for (auto k : {WeightRole::SharedGate, WeightRole::SharedUp, WeightRole::SharedDown})
        out.push_back({k, l});
  }
  return out;
}

}  // namespace moescope
