// How a model is sharded over ranks: tensor parallelism (--tp N: attention heads, expert FFN
// columns and the vocabulary split N ways) composed with expert parallelism (--ep M: experts
// placed on M groups of ranks). World size = tp x ep; rank = ep_rank * tp + tp_rank. Within an
// expert group the tp ranks split every layer's attention heads (KV heads too, one per rank and
// replicated when tp exceeds their count), the FFN columns of the experts the group holds, and
// the vocabulary of the embedding and output tables; norms and routers are replicated.
//
// validate_layout() rejects a layout the model cannot take before any weight is loaded;
// memory_plan() says what each rank holds, computed from the sizes alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/config/model_config.h"

namespace moescope::parallel {

struct ParallelLayout {
  int tp = 1;
  int ep = 1;
  std::vector<int>
      expert_group;  // [E] the expert group (0..ep-1) of each expert; empty = contiguous
  int world() const { return tp * ep; }
};

// Experts 0..E-1 in ep contiguous equal runs (E must divide by ep).
std::vector<int> contiguous_placement(int64_t n_experts, int ep);
// "0,0,1,1,2,2,3,3": the group of each expert, in expert order. Throws naming the option.
std::vector<int> parse_placement(const std::string& text);

// Throws moescope::Error naming the parameter and what was expected: tp must divide the query
// heads, the expert FFN width (and the shared MLP width), and either divide the KV heads or be a
// multiple of them; ep must divide the experts (contiguous) or the placement must name every
// expert once with groups 0..ep-1, each holding at least one; world size must not exceed
// n_devices when n_devices >= 0 (device_kind names them in the message, e.g. "GPUs").
void validate_layout(const ModelConfig& c, ParallelLayout& layout, int n_devices = -1,
                     const std::string& device_kind = "devices");

enum class WeightFormat { F32, BF16, Int8, FP8 };
// "f32", "bf16", "int8", "fp8"; throws naming the option otherwise.
WeightFormat parse_weight_format(const std::string& text);
const char* weight_format_name(WeightFormat f);

// What one rank holds (bytes in the chosen format, as model_stats.h counts them: int8 linear
// layers with bf16 group scales and f32 tables/norms/router; fp8 linear layers with bf16 rest).
struct RankMemory {
  int rank = 0, tp_rank = 0, ep_rank = 0;
  int64_t experts_held = 0;  // per layer
  int64_t kv_heads_held = 0;
  int64_t attention = 0;   // q, k, v, o of every layer (this rank's heads)
  int64_t experts = 0;     // this rank's columns of the experts its group holds
  int64_t shared_mlp = 0;  // Grok-2's shared MLP columns
  int64_t tables = 0;      // this rank's vocabulary rows of the embedding (and untied lm_head)
  int64_t replicated = 0;  // norms, routers, final norm
  int64_t total = 0;
  int64_t kv_bytes_per_token = 0;  // K and V of every layer at kv_bytes_per_value
};

std::vector<RankMemory> memory_plan(const ModelConfig& c, const ParallelLayout& layout,
                                    WeightFormat format, int64_t kv_bytes_per_value = 2);

}  // namespace moescope::parallel
