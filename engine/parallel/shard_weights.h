// The weights one tensor-parallel rank uses, cut from the full model's (Megatron-style):
//   column-parallel (rows of W[N, K] split): q, k, v projections by heads, expert and shared-MLP
//     gate/up by FFN columns, the output projection and the embedding by vocabulary rows;
//   row-parallel (columns of W split, partial sums all-reduced): o-projection, expert and
//     shared-MLP down projections;
//   replicated: norms and routers (every rank routes identically).
// Row slices are views into the full weights; column slices are copied (a strided view would
// need every kernel to take a stride), with their group scales when G divides by tp.
// KV heads: rank r holds Hkv/tp of them, or, when tp is a multiple of Hkv, the one its query
// heads use (replicated over tp/Hkv ranks).
#pragma once

#include <memory>

#include "engine/config/model_config.h"
#include "engine/weights/model_weights.h"

namespace moescope::parallel {

struct Shard {
  ModelConfig config;  // the rank's sizes: Hq/tp heads, held KV heads, F/tp, Fs/tp (V unchanged)
  std::shared_ptr<const ModelWeights> weights;  // keeps the full weights alive
  int64_t vocab_begin = 0, vocab_end = 0;       // the rank's embedding and output rows
};

// Throws moescope::Error when tp does not divide the sizes (validate_layout's rules) or a
// quantised matrix's scale groups cannot be split tp ways. With expert parallelism, only the
// experts e with expert_group[e] == ep_rank are kept (the others are empty matrices).
Shard shard_weights(const ModelConfig& full_config, std::shared_ptr<const ModelWeights> full,
                    int tp, int rank, const std::vector<int>* expert_group = nullptr,
                    int ep_rank = 0);

}  // namespace moescope::parallel
