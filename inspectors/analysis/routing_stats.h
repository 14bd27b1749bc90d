// Expert load and router statistics of one layer over a range of positions
// (tooling-conventions.md section 5; Switch Transformer, HF load_balancing_loss_func,
// MegaBlocks, ST-MoE).
//
// Notation: T tokens in the range with routing recorded, E experts, k selected per token,
// p_t the router probabilities over all E experts (softmax of the logits), S_t the selected set,
// p_(1) >= p_(2) >= .. the sorted probabilities of token t.
//   load            n_i = #{t : i in S_t}                     share_i = n_i / (T k)
//   first load      n1_i = #{t : first choice of t is i}
//   mean prob       P_i = (1/T) sum_t p_t,i
//   CV              std(n) / mean(n), population std over the E experts, mean(n) = T k / E
//   max/mean        max_i n_i / mean(n): 1 = perfect balance, E/k = everything on k experts
//   load entropy    H(share) / ln E: 1 = uniform (defined as 1 when E = 1)
//   aux, Switch     E * sum_i (n1_i / T) * P_i          (first choice; 1 at perfect balance)
//   aux, HF top-k   E * sum_i (n_i / T) * P_i           (= E sum_r sum_i f_r,i P_i; k at balance)
//   aux, normalised aux_hf / k                          (MegaBlocks' E/k scaling; 1 at balance)
//     all three without the coefficient alpha (10^-2 in Switch, router_aux_loss_coef in HF).
//   router entropy  mean_t H(p_t) / ln E (and in nats)
//   top-1 margin    mean_t p_(1) - p_(2)
//   top-k mass      mean_t sum_{r<=k} p_(r): Grok-1 mixes with these unrenormalised
//                   probabilities, so for k = 2 it is the gate mass p1 + p2 (< 1)
//   gate sum        mean_t sum of the recorded gates (top-k mass for Grok-1, 1 when renormalised)
//   capacity        C = ceil((T k / E) * capacity_factor), the selected tokens taken as one batch
//   drop rate       sum_i max(0, n_i - C) / (T k): hypothetical (Grok inference never drops)
//   router z-loss   (1/T) sum_t (log sum_i exp x_t,i)^2 (ST-MoE) over the raw router logits x_t,
//                   which the trace records beside the probabilities (softmax outputs are
//                   invariant to a shift of x_t, so log-sum-exp cannot come from them); NaN
//                   when any token of the range has no logits (traces written before they
//                   were captured). Grok-2's router soft-cap is applied before the softmax,
//                   so its x_t are the capped values the softmax saw.
//
// Cost: O(T E) per layer (E logarithms per token, or additions only with a RoutingCache).
#pragma once

#include <cstdint>
#include <vector>

#include "inspectors/analysis/position_range.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

struct RoutingStatsOptions {
  double capacity_factor = 1.25;  // for the hypothetical drop rate
};

struct LayerRoutingStats {
  int32_t layer = 0;
  int64_t tokens = 0;               // T; every ratio below is NaN when 0
  std::vector<int64_t> load;        // [E] n_i
  std::vector<int64_t> first_load;  // [E] n1_i
  std::vector<double> share;        // [E] n_i / (T k); sums to 1
  std::vector<double> mean_prob;    // [E] P_i
  double cv = 0;
  double max_over_mean = 0;
  double load_entropy = 0;
  double aux_switch = 0;
  double aux_hf_topk = 0;
  double aux_normalised = 0;
  double router_entropy = 0;  // normalised by ln E
  double router_entropy_nats = 0;
  double top1_margin = 0;
  double topk_mass = 0;
  double gate_sum = 0;
  double capacity_factor = 0;
  int64_t capacity = 0;  // C
  int64_t dropped = 0;   // sum_i max(0, n_i - C)
  double drop_rate = 0;
  double router_z_loss = 0;  // NaN without logits
};

// The per-token router quantities of one position: entropy of p_t in nats, top-1 margin
// p_(1) - p_(2), top-k mass sum_{r<=k} p_(r).
struct TokenRouterScalars {
  double entropy = 0;
  double margin = 0;
  double topk_mass = 0;
};

TokenRouterScalars token_router_scalars(const float* probs, int64_t n_experts, int64_t top_k);

// The per-token quantities of every recorded position, computed once and kept: a live view
// recomputing the whole run or a window every frame then pays additions only (E logarithms
// and a top-k selection per token dominate otherwise). Runs are append-only, so update() only
// computes positions recorded since the last call (and starts over on a different run).
class RoutingCache {
 public:
  void update(const storage::RunData& run);
  // The cached scalars of (layer, p), or null when not cached (not recorded at the last update).
  const TokenRouterScalars* find(int32_t layer, int64_t p) const;

 private:
  int64_t run_id_ = -1;
  std::vector<std::vector<TokenRouterScalars>> scalars_;  // [L][P]
  std::vector<std::vector<uint8_t>> cached_;              // [L][P]
};

// With a cache, positions it holds use its scalars and the others are computed; the result is
// identical either way.
LayerRoutingStats layer_routing_stats(const storage::RunData& run, int32_t layer,
                                      const PositionRange& range = {},
                                      const RoutingStatsOptions& options = {},
                                      const RoutingCache* cache = nullptr);

// One entry per layer of the run.
std::vector<LayerRoutingStats> routing_stats(const storage::RunData& run,
                                             const PositionRange& range = {},
                                             const RoutingStatsOptions& options = {},
                                             const RoutingCache* cache = nullptr);

// ST-MoE router z-loss of logits [T, E]: (1/T) sum_t (log sum_i exp x_t,i)^2, with a stable
// log-sum-exp. NaN when T == 0.
double router_z_loss(const float* logits, int64_t t, int64_t n_experts);

}  // namespace moescope::inspectors
