#include "engine/config/config_json.h"

#include <nlohmann/json.hpp>

namespace moescope {

std::string config_to_json(const ModelConfig& c) {
  nlohmann::json j = {
      {"name", c.name},
      {"arch", arch_name(c.arch)},
      {"vocab_size", c.vocab_size},
      {"d_model", c.d_model},
      {"n_layers", c.n_layers},
      {"n_heads", c.n_heads},
      {"n_kv_heads", c.n_kv_heads},
      {"head_dim", c.head_dim},
      {"n_experts", c.n_experts},
      {"top_k", c.top_k},
      {"expert_ffn", c.expert_ffn},
      {"shared_ffn", c.shared_ffn},
      {"max_seq_len", c.max_seq_len},
      {"rope_theta", c.rope_theta},
      {"rms_eps", c.rms_eps},
      {"attn_logit_multiplier", c.attn_logit_multiplier},
      {"attn_softcap", c.attn_softcap},
      {"attn_temperature_len", c.attn_temperature_len},
      {"mask_pad_keys", c.mask_pad_keys},
      {"embed_multiplier", c.embed_multiplier},
      {"output_multiplier", c.output_multiplier},
      {"final_logit_softcap", c.final_logit_softcap},
      {"router_softcap", c.router_softcap},
      {"renormalize_topk", c.renormalize_topk},
      {"expert_act", kernels::activation_name(c.expert_act)},
      {"shared_act", kernels::activation_name(c.shared_act)},
      {"sandwich_norm", c.sandwich_norm},
      {"residual_moe", c.residual_moe},
      {"tied_embeddings", c.tied_embeddings},
      {"bos_id", c.bos_id},
      {"eos_id", c.eos_id},
      {"pad_id", c.pad_id},
  };
  return j.dump();
}

}  // namespace moescope
