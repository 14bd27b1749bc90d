// The tensor names of each checkpoint naming scheme (grok-architecture.md 4.2, 4.3; HF Mixtral),
// for every weight role the forward pass needs. Weights are [out, in] (PyTorch layout) in all
// schemes. Quantised matrices carry a companion "<prefix>.weight_scale" tensor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moescope {

class Checkpoint;

enum class NamingScheme : uint8_t {
  HpcaiGrok1,  // hpcai-tech/grok-1: attn.q_proj, moe_block.experts.E.linear{,_v,_1}, *.scale norms
  SglangGrok,  // SGLang / xai-org grok-2 (and lmzheng/grok-1): self_attn, block_sparse_moe.w1..3
  Mixtral,     // HF Mixtral: input_layernorm / post_attention_layernorm, block_sparse_moe
  // keyfan/grok-1-hf: transformer.decoder_layer.N.multi_head_attention.query,
  // moe.E.linear{,_v,_1}, rms_norm{,_1,_2,_3} (grok-architecture.md 4.2)
  KeyfanGrok1,
};

// Parses "hpcai", "sglang", "mixtral" or "keyfan"; nullopt otherwise.
std::optional<NamingScheme> naming_scheme_from_name(std::string_view name);

const char* naming_scheme_name(NamingScheme s);

struct TensorNames {
  NamingScheme scheme = NamingScheme::HpcaiGrok1;

  std::string embed() const;
  std::string lm_head() const;
  std::string final_norm() const;

  std::string attn_q(int64_t layer) const;
  std::string attn_k(int64_t layer) const;
  std::string attn_v(int64_t layer) const;
  std::string attn_o(int64_t layer) const;

  // Mixtral has only the two pre-norms: pre_attn = input_layernorm, pre_moe =
  // post_attention_layernorm; its post-branch names are empty.
  std::string norm_pre_attn(int64_t layer) const;
  std::string norm_post_attn(int64_t layer) const;
  std::string norm_pre_moe(int64_t layer) const;
  std::string norm_post_moe(int64_t layer) const;

  std::string router(int64_t layer) const;
  std::string expert_gate(int64_t layer, int64_t expert) const;  // GELU/SiLU branch [F, D]
  std::string expert_up(int64_t layer, int64_t expert) const;    // multiplicative partner [F, D]
  std::string expert_down(int64_t layer, int64_t expert) const;  // [D, F]

  std::string shared_gate(int64_t layer) const;  // Grok-2 shared MLP [Fs, D]
  std::string shared_up(int64_t layer) const;    // [Fs, D]
  std::string shared_down(int64_t layer) const;  // [D, Fs]
};

// "<prefix>.weight" -> "<prefix>.weight_scale".
std::string scale_name(const std::string& weight_name);

// The scheme whose embedding and layer-0 query projection are both in ckpt. Throws naming the
// directory and the names looked for when none matches.
NamingScheme detect_naming_scheme(const Checkpoint& ckpt);

}  // namespace moescope
