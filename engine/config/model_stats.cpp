#include "engine/config/model_stats.h"

namespace moescope {

ParamCounts count_params(const ModelConfig& c) {
  ParamCounts p;
  const int64_t D = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  p.attention_per_layer = D * qd + 2 * D * kvd + qd * D;
  p.expert = 3 * D * c.expert_ffn;
  p.experts_per_layer = c.n_experts * p.expert;
  p.shared_mlp_per_layer = 3 * D * c.shared_ffn;
  p.router_per_layer = D * c.n_experts;
  p.norms_per_layer = (c.sandwich_norm ? 4 : 2) * D;
  p.per_layer = p.attention_per_layer + p.experts_per_layer + p.shared_mlp_per_layer +
                p.router_per_layer + p.norms_per_layer;
  p.embedding = c.vocab_size * D;
  p.lm_head = c.tied_embeddings ? 0 : c.vocab_size * D;
  p.final_norm = D;
  p.total = c.n_layers * p.per_layer + p.embedding + p.lm_head + p.final_norm;
  const int64_t active_layer = p.attention_per_layer + p.router_per_layer + c.top_k * p.expert +
                               p.shared_mlp_per_layer + p.norms_per_layer;
  p.active = c.n_layers * active_layer + c.vocab_size * D + p.final_norm;
  p.linear_total =
      c.n_layers * (p.attention_per_layer + p.experts_per_layer + p.shared_mlp_per_layer);
  return p;
}

WeightBytes weight_bytes(const ModelConfig& c) {
  const ParamCounts p = count_params(c);
  WeightBytes b;
  b.f32 = 4 * p.total;
  b.bf16 = 2 * p.total;

  // Scale elements per layer in the ckpt-0 layout: one row of N scales per group of K rows.
  const int64_t D = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  constexpr int64_t kSplitGroups = 8;  // K-sharded tensors in the reference 8-way layout
  const int64_t attn_scales = qd + 2 * kvd + kSplitGroups * D;
  const int64_t expert_scales = 2 * c.expert_ffn + kSplitGroups * D;
  const int64_t shared_scales = c.shared_ffn > 0 ? 2 * c.shared_ffn + kSplitGroups * D : 0;
  const int64_t scales = c.n_layers * (attn_scales + c.n_experts * expert_scales + shared_scales);
  const int64_t small = c.n_layers * (p.norms_per_layer + p.router_per_layer) + p.final_norm;
  const int64_t tables = p.embedding + p.lm_head;

  b.int8_scales_only = 2 * scales;
  b.int8_scaled = p.linear_total + b.int8_scales_only + 4 * (tables + small);
  b.fp8 = p.linear_total + 2 * (tables + small);
  return b;
}

int64_t kv_cache_bytes_per_token(const ModelConfig& c, int64_t bytes_per_value) {
  return c.n_layers * 2 * c.n_kv_heads * c.head_dim * bytes_per_value;
}

int64_t matmul_flops_per_token(const ModelConfig& c) {
  return 2 * count_params(c).active;
}

int64_t attention_flops_per_position(const ModelConfig& c) {
  return c.n_layers * c.n_heads * c.head_dim * 2 * 2;
}

}  // namespace moescope
