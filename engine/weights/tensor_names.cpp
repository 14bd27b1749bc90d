#include "engine/weights/tensor_names.h"

#include "engine/core/error.h"
#include "engine/weights/checkpoint.h"

namespace moescope {

const char* naming_scheme_name(NamingScheme s) {
  switch (s) {
    case NamingScheme::HpcaiGrok1:
      return "hpcai-tech grok-1";
    case NamingScheme::SglangGrok:
      return "sglang grok";
    case NamingScheme::Mixtral:
      return "mixtral";
    case NamingScheme::KeyfanGrok1:
      return "keyfan grok-1";
  }
  return "?";
}

std::optional<NamingScheme> naming_scheme_from_name(std::string_view name) {
  if (name == "hpcai") return NamingScheme::HpcaiGrok1;
  if (name == "sglang") return NamingScheme::SglangGrok;
  if (name == "mixtral") return NamingScheme::Mixtral;
  if (name == "keyfan") return NamingScheme::KeyfanGrok1;
  return std::nullopt;
}

namespace {

std::string layer_prefix(int64_t layer) {
  return cat("model.layers.", layer, ".");
}

std::string keyfan_layer(int64_t layer) {
  return cat("transformer.decoder_layer.", layer, ".");
}

}  // namespace

std::string TensorNames::embed() const {
  if (scheme == NamingScheme::KeyfanGrok1) return "transformer.in_out_embed.weight";
  return "model.embed_tokens.weight";
}
std::string TensorNames::lm_head() const {
  return "lm_head.weight";
}
std::string TensorNames::final_norm() const {
  if (scheme == NamingScheme::KeyfanGrok1) return "transformer.rms_norm.weight";
  return scheme == NamingScheme::HpcaiGrok1 ? "model.norm.scale" : "model.norm.weight";
}

static std::string attn(NamingScheme s, int64_t layer, const char* proj) {
  if (s == NamingScheme::KeyfanGrok1) {
    const char* name = proj[0] == 'q'   ? "query"
                       : proj[0] == 'k' ? "key"
                       : proj[0] == 'v' ? "value"
                                        : "linear";
    return cat(keyfan_layer(layer), "multi_head_attention.", name, ".weight");
  }
  const char* block = s == NamingScheme::HpcaiGrok1 ? "attn." : "self_attn.";
  return cat(layer_prefix(layer), block, proj, "_proj.weight");
}
std::string TensorNames::attn_q(int64_t l) const {
  return attn(scheme, l, "q");
}
std::string TensorNames::attn_k(int64_t l) const {
  return attn(scheme, l, "k");
}
std::string TensorNames::attn_v(int64_t l) const {
  return attn(scheme, l, "v");
}
std::string TensorNames::attn_o(int64_t l) const {
  return attn(scheme, l, "o");
}

static std::string grok_norm(NamingScheme s, int64_t layer, const char* which) {
  if (s == NamingScheme::KeyfanGrok1) {
    // The JAX module names, in creation order (grok-architecture.md 2.1).
    std::string w = which;
    const char* jax = w == "pre_attn_norm"    ? "rms_norm"
                      : w == "post_attn_norm" ? "rms_norm_1"
                      : w == "pre_moe_norm"   ? "rms_norm_2"
                                              : "rms_norm_3";
    return cat(keyfan_layer(layer), jax, ".weight");
  }
  return cat(layer_prefix(layer), which, s == NamingScheme::HpcaiGrok1 ? ".scale" : ".weight");
}
std::string TensorNames::norm_pre_attn(int64_t l) const {
  if (scheme == NamingScheme::Mixtral) return layer_prefix(l) + "input_layernorm.weight";
  return grok_norm(scheme, l, "pre_attn_norm");
}
std::string TensorNames::norm_post_attn(int64_t l) const {
  if (scheme == NamingScheme::Mixtral) return "";
  return grok_norm(scheme, l, "post_attn_norm");
}
std::string TensorNames::norm_pre_moe(int64_t l) const {
  if (scheme == NamingScheme::Mixtral) return layer_prefix(l) + "post_attention_layernorm.weight";
  return grok_norm(scheme, l, "pre_moe_norm");
}
std::string TensorNames::norm_post_moe(int64_t l) const {
  if (scheme == NamingScheme::Mixtral) return "";
  return grok_norm(scheme, l, "post_moe_norm");
}

std::string TensorNames::router(int64_t l) const {
  if (scheme == NamingScheme::KeyfanGrok1) return keyfan_layer(l) + "router.weight";
  if (scheme == NamingScheme::HpcaiGrok1) return layer_prefix(l) + "moe_block.gate.weight";
  return layer_prefix(l) + "block_sparse_moe.gate.weight";
}

// hpcai-tech: linear = gate (activated), linear_v = up, linear_1 = down.
// SGLang / Mixtral: w1 = gate, w3 = up, w2 = down.
static std::string expert(NamingScheme s, int64_t l, int64_t e, const char* hpcai, const char* hf) {
  if (s == NamingScheme::KeyfanGrok1) return cat(keyfan_layer(l), "moe.", e, ".", hpcai, ".weight");
  if (s == NamingScheme::HpcaiGrok1)
    return cat(layer_prefix(l), "moe_block.experts.", e, ".", hpcai, ".weight");
  return cat(layer_prefix(l), "block_sparse_moe.experts.", e, ".", hf, ".weight");
}
std::string TensorNames::expert_gate(int64_t l, int64_t e) const {
  return expert(scheme, l, e, "linear", "w1");
}
std::string TensorNames::expert_up(int64_t l, int64_t e) const {
  return expert(scheme, l, e, "linear_v", "w3");
}
std::string TensorNames::expert_down(int64_t l, int64_t e) const {
  return expert(scheme, l, e, "linear_1", "w2");
}

std::string TensorNames::shared_gate(int64_t l) const {
  return layer_prefix(l) + "mlp.gate_proj.weight";
}
std::string TensorNames::shared_up(int64_t l) const {
  return layer_prefix(l) + "mlp.up_proj.weight";
}
std::string TensorNames::shared_down(int64_t l) const {
  return layer_prefix(l) + "mlp.down_proj.weight";
}

std::string scale_name(const std::string& weight_name) {
  return weight_name + "_scale";
}

NamingScheme detect_naming_scheme(const Checkpoint& ckpt) {
  const NamingScheme all[] = {NamingScheme::HpcaiGrok1, NamingScheme::SglangGrok,
                              NamingScheme::Mixtral, NamingScheme::KeyfanGrok1};
  std::string looked_for;
  for (NamingScheme s : all) {
    TensorNames names{s};
    // The norm name separates SGLang-style Grok from Mixtral, which share the attention names.
    if (ckpt.find(names.embed()) && ckpt.find(names.attn_q(0)) && ckpt.find(names.norm_pre_attn(0)))
      return s;
    looked_for += cat(looked_for.empty() ? "" : "; ", naming_scheme_name(s), ": '", names.attn_q(0),
                      "' + '", names.norm_pre_attn(0), "'");
  }
  fail("checkpoint ", ckpt.dir(), ": no known tensor naming scheme (looked for ", looked_for, ")");
}

}  // namespace moescope
