// Parameter counts, weight bytes per storage format and KV-cache bytes of a configuration,
// computed from the sizes alone (nothing is allocated). The conventions are those of
// grok-architecture.md section 8, whose Grok-1 and Grok-2 figures these reproduce exactly.
#pragma once

#include <cstdint>

#include "engine/config/model_config.h"

namespace moescope {

struct ParamCounts {
  int64_t attention_per_layer = 0;   // q, k, v, o
  int64_t expert = 0;                // one expert's three matrices
  int64_t experts_per_layer = 0;     // all experts of a layer
  int64_t shared_mlp_per_layer = 0;  // 0 without a shared MLP
  int64_t router_per_layer = 0;
  int64_t norms_per_layer = 0;  // 4 with sandwich norms, else 2
  int64_t per_layer = 0;
  int64_t embedding = 0;  // input table
  int64_t lm_head = 0;    // 0 when tied
  int64_t final_norm = 0;
  int64_t total = 0;
  // Per token: attention, router, top-k experts, shared MLP and norms of every layer, plus the
  // output projection and final norm; the embedding lookup is not counted.
  int64_t active = 0;
  int64_t linear_total = 0;  // attention + experts + shared MLP over all layers (quantisable)
};

ParamCounts count_params(const ModelConfig& c);

// Weight bytes of the whole model when stored as...
struct WeightBytes {
  int64_t f32 = 0;   // everything f32
  int64_t bf16 = 0;  // everything bf16
  // int8 linear layers with bf16 scales grouped as in Grok-1's ckpt-0 (grok-architecture.md 4.1:
  // 8 groups along K for the o-projection and expert down-projection, one elsewhere), embedding,
  // norms and router in f32: the original release's layout.
  int64_t int8_scaled = 0;
  int64_t int8_scales_only = 0;  // the bf16 scales inside int8_scaled
  // fp8 (E4M3) linear layers, bf16 embedding/lm_head/norms/router.
  int64_t fp8 = 0;
};

WeightBytes weight_bytes(const ModelConfig& c);

// K and V of every layer for one token position, at bytes_per_value (2 = bf16).
int64_t kv_cache_bytes_per_token(const ModelConfig& c, int64_t bytes_per_value);

// Matmul FLOPs per token (2 x active, grok-architecture.md section 8) and attention FLOPs per
// token per context position (QK^T and PV over all layers).
int64_t matmul_flops_per_token(const ModelConfig& c);
int64_t attention_flops_per_position(const ModelConfig& c);

}  // namespace moescope
