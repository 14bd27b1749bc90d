// The architecture of one model, as data: sizes and the switches that distinguish Grok-1, Grok-2
// and Mixtral-style relatives (grok-architecture.md section 10).
//
// Read from an HF-style config.json (hpcai-tech Grok-1 keys, Grok-2 keys, Mixtral keys) or taken
// from a built-in preset. validate() checks consistency before anything is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cpu/activation.h"

namespace moescope {

using kernels::Activation;

enum class Arch : uint8_t { Grok1, Grok2, Mixtral };

const char* arch_name(Arch a);

struct ModelConfig {
  std::string name;  // preset name or the config file it came from
  Arch arch = Arch::Grok1;

  // Sizes. Legend: V vocab, D d_model, L layers, Hq/Hkv heads, Dh head dim, E experts, K top-k,
  // F expert FFN width, Fs shared-MLP width (0 = none).
  int64_t vocab_size = 0;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t n_experts = 0;
  int64_t top_k = 0;
  int64_t expert_ffn = 0;
  int64_t shared_ffn = 0;
  int64_t max_seq_len = 0;

  double rope_theta = 10000.0;
  float rms_eps = 1e-5f;

  // Attention logits: (q.k) * attn_logit_multiplier, then attn_softcap*tanh(./cap) when > 0, then
  // the temperature log2(p)/log2(L) for query positions p > L when attn_temperature_len > 0.
  float attn_logit_multiplier = 1.0f;
  float attn_softcap = 0.0f;
  int64_t attn_temperature_len = 0;
  // Keys whose token id is pad_id are masked (the Grok-1 JAX reference's input_mask).
  bool mask_pad_keys = false;

  float embed_multiplier = 1.0f;
  float output_multiplier = 1.0f;
  float final_logit_softcap = 0.0f;  // 0 = off
  float router_softcap = 0.0f;       // 0 = off
  bool renormalize_topk = false;
  Activation expert_act = Activation::GeluTanh;
  Activation shared_act = Activation::GeluErf;
  // Post-attention and post-MoE norms on the branch outputs (Grok); false = pre-norm only.
  bool sandwich_norm = true;
  // (shared_mlp + moe) / sqrt(2) (Grok-2's residual_moe); requires shared_ffn > 0.
  bool residual_moe = false;
  bool tied_embeddings = true;

  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t pad_id = 0;

  // Throws moescope::Error naming the first inconsistent field.
  void validate() const;
  // Query heads per KV head.
  int64_t gqa_group() const { return n_heads / n_kv_heads; }
};

// Parses config.json at path. Throws moescope::Error naming the file and the field.
ModelConfig load_model_config(const std::string& path);

// Parses the text of a config.json; source names it in errors.
ModelConfig parse_model_config(std::string_view json_text, const std::string& source);

// Built-in full-size presets: "grok-1", "grok-2". Throws listing the known names.
ModelConfig preset_config(std::string_view name);
std::vector<std::string> preset_names();

}  // namespace moescope
