// Small RunData values built by hand for the analysis tests: tokens, routing, attention and
// ops set directly, no engine or storage involved.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/trace/half.h"
#include "storage/run_data.h"

namespace moescope::test {

// A run of P prompt tokens (ids as given, text "t<id>") with L layers of E experts, top-K,
// H heads, and no routing recorded yet.
inline storage::RunData crafted_run(const std::vector<int32_t>& ids, int32_t layers,
                                    int32_t experts, int32_t top_k, int32_t heads = 1) {
  storage::RunData run;
  run.id = 1;
  run.info.model = "crafted";
  run.info.n_layers = layers;
  run.info.n_experts = experts;
  run.info.top_k = top_k;
  run.info.n_heads = heads;
  run.info.n_kv_heads = heads;
  for (size_t p = 0; p < ids.size(); ++p) {
    storage::TokenRecord t;
    t.position = int64_t(p);
    t.id = ids[p];
    t.text = "t" + std::to_string(ids[p]);
    run.tokens.push_back(t);
  }
  const size_t P = ids.size();
  run.routing.resize(size_t(layers));
  for (auto& r : run.routing) {
    r.probs.assign(P * size_t(experts), 0.0f);
    r.ids.assign(P * size_t(top_k), 0);
    r.gates.assign(P * size_t(top_k), 0.0f);
    r.present.assign(P, 0);
    r.step.assign(P, 0);
  }
  return run;
}

// Records the router's decision at (layer, p): selected ids (best first) and the full
// probabilities; empty probs = uniform 1/E. Gates are the selected probabilities (Grok-1).
inline void route(storage::RunData& run, int32_t layer, int64_t p, const std::vector<int32_t>& ids,
                  std::vector<float> probs = {}, int64_t step = 0) {
  const int64_t E = run.info.n_experts, K = run.info.top_k;
  if (probs.empty()) probs.assign(size_t(E), 1.0f / float(E));
  auto& r = run.routing[size_t(layer)];
  for (int64_t e = 0; e < E; ++e) r.probs[size_t(p * E + e)] = probs[size_t(e)];
  for (int64_t k = 0; k < K; ++k) {
    r.ids[size_t(p * K + k)] = ids[size_t(k)];
    // Tests of bad input route ids outside the experts on purpose: their gate is 0, not a read
    // past probs (AddressSanitizer).
    const int32_t id = ids[size_t(k)];
    r.gates[size_t(p * K + k)] = id >= 0 && id < E ? probs[size_t(id)] : 0.0f;
  }
  r.present[size_t(p)] = 1;
  r.step[size_t(p)] = step;
}

// An attention record of (layer, head) for queries q0 .. q0+Q-1 over S keys, from f32 rows
// (rounded to f16 as the trace stores them).
inline void attend(storage::RunData& run, int32_t layer, int32_t head, int64_t q0,
                   const std::vector<std::vector<float>>& rows, int64_t keys) {
  storage::AttentionRecord r;
  r.layer = layer;
  r.head = head;
  r.q0 = q0;
  r.n_queries = int32_t(rows.size());
  r.n_keys = keys;
  for (const auto& row : rows)
    for (int64_t j = 0; j < keys; ++j)
      r.probs_f16.push_back(trace::f32_to_f16(j < int64_t(row.size()) ? row[size_t(j)] : 0.0f));
  run.attention.push_back(std::move(r));
}

// The full causal map [T, T] of one head whose row t is given by fn(t) (a vector of t+1).
template <typename Fn>
std::vector<std::vector<float>> causal_map(int64_t t_count, Fn fn) {
  std::vector<std::vector<float>> rows;
  for (int64_t t = 0; t < t_count; ++t) rows.push_back(fn(t));
  return rows;
}

// A one-hot row of length t+1 with the mass at j.
inline std::vector<float> one_hot(int64_t t, int64_t j) {
  std::vector<float> row(size_t(t + 1), 0.0f);
  row[size_t(j)] = 1.0f;
  return row;
}

// Softmax of n standard-normal logits scaled by `scale`.
inline std::vector<float> random_softmax(std::mt19937_64& rng, int64_t n, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n));
  float m = -1e30f, z = 0;
  for (float& v : x) m = std::max(m, v = normal(rng));
  for (float& v : x) z += v = std::exp(v - m);
  for (float& v : x) v /= z;
  return x;
}

}  // namespace moescope::test
