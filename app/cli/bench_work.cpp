#include "app/cli/bench_work.h"

#include "engine/model/op_costs.h"

namespace moescope::app {

namespace {

// The weight (and scale) bytes of w: its matmul cost with no activations.
int64_t weight_bytes(const WeightMatrix& w) {
  return w.data ? matmul_cost(w, 0).bytes : 0;
}

}  // namespace

int64_t decode_weight_bytes(const ModelConfig& c, const ModelWeights& w) {
  int64_t bytes = weight_bytes(w.lm_head);
  for (const LayerWeights& L : w.layers) {
    bytes += weight_bytes(L.wq) + weight_bytes(L.wk) + weight_bytes(L.wv) + weight_bytes(L.wo);
    bytes += weight_bytes(L.router);
    // Experts of one layer have one shape: any top_k of them cost the same.
    const ExpertWeights& x = L.experts.front();
    bytes += c.top_k * (weight_bytes(x.gate) + weight_bytes(x.up) + weight_bytes(x.down));
    bytes += weight_bytes(L.shared_gate) + weight_bytes(L.shared_up) + weight_bytes(L.shared_down);
  }
  return bytes;
}

int64_t prefill_flops(const ModelConfig& c, const ModelWeights& w, int64_t P) {
  auto mm = [&](const WeightMatrix& m, int64_t t) { return m.data ? matmul_cost(m, t).flops : 0; };
  int64_t flops = mm(w.lm_head, 1);
  for (const LayerWeights& L : w.layers) {
    flops += mm(L.wq, P) + mm(L.wk, P) + mm(L.wv, P) + mm(L.wo, P) + mm(L.router, P);
    flops += attention_cost(P, 0, c.n_heads, c.n_kv_heads, c.head_dim).flops;
    const ExpertWeights& x = L.experts.front();
    flops += mm(x.gate, P * c.top_k) + mm(x.up, P * c.top_k) + mm(x.down, P * c.top_k);
    flops += mm(L.shared_gate, P) + mm(L.shared_up, P) + mm(L.shared_down, P);
  }
  return flops;
}

}  // namespace moescope::app
