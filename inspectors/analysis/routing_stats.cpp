#include "inspectors/analysis/routing_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "inspectors/analysis/routing_view.h"

namespace moescope::inspectors {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Shannon entropy in nats of a distribution given as non-negative weights summing to 1.
double entropy_nats(const double* w, int64_t n) {
  double h = 0;
  for (int64_t i = 0; i < n; ++i)
    if (w[i] > 0) h -= w[i] * std::log(w[i]);
  return h;
}

// Fills the load-shape statistics (CV, max/mean, entropy, aux losses, drops) from the counts.
void finish_loads(LayerRoutingStats& s, int64_t E, int64_t K, double capacity_factor) {
  const double T = double(s.tokens), slots = T * double(K), mean = slots / double(E);
  double var = 0, max_n = 0;
  for (int64_t i = 0; i < E; ++i) {
    const double n = double(s.load[size_t(i)]);
    s.share[size_t(i)] = n / slots;
    var += (n - mean) * (n - mean);
    max_n = std::max(max_n, n);
  }
  s.cv = std::sqrt(var / double(E)) / mean;
  s.max_over_mean = max_n / mean;
  s.load_entropy = E > 1 ? entropy_nats(s.share.data(), E) / std::log(double(E)) : 1.0;
  double aux_first = 0, aux_all = 0;
  for (int64_t i = 0; i < E; ++i) {
    aux_first += double(s.first_load[size_t(i)]) / T * s.mean_prob[size_t(i)];
    aux_all += double(s.load[size_t(i)]) / T * s.mean_prob[size_t(i)];
  }
  s.aux_switch = double(E) * aux_first;
  s.aux_hf_topk = double(E) * aux_all;
  s.aux_normalised = s.aux_hf_topk / double(K);

  s.capacity_factor = capacity_factor;
  if (capacity_factor > 0) {
    // The small slack keeps an exact product such as 2.5 * 1.2 = 3 from rounding up to 4.
    s.capacity = int64_t(std::ceil(mean * capacity_factor - 1e-9));
    for (int64_t i = 0; i < E; ++i)
      s.dropped += std::max<int64_t>(0, s.load[size_t(i)] - s.capacity);
    s.drop_rate = double(s.dropped) / slots;
  } else {
    s.drop_rate = kNaN;
  }
}

}  // namespace

TokenRouterScalars token_router_scalars(const float* probs, int64_t n_experts, int64_t top_k) {
  TokenRouterScalars s;
  // The max(k, 2) largest probabilities, by insertion into a short descending list.
  double best[kMaxTopK] = {};  // zeros where fewer experts than ranks
  const int64_t ranked = std::min({n_experts, std::max<int64_t>(top_k, 2), kMaxTopK});
  int64_t filled = 0;
  for (int64_t i = 0; i < n_experts; ++i) {
    const double q = probs[i];
    if (q > 0) s.entropy -= q * std::log(q);
    if (filled == ranked && q <= best[ranked - 1]) continue;
    int64_t at = filled < ranked ? filled++ : ranked - 1;
    for (; at > 0 && best[at - 1] < q; --at) best[at] = best[at - 1];
    best[at] = q;
  }
  s.margin = best[0] - (ranked > 1 ? best[1] : 0.0);
  for (int64_t r = 0; r < std::min(top_k, ranked); ++r) s.topk_mass += best[r];
  return s;
}

void RoutingCache::update(const storage::RunData& run) {
  if (run.id != run_id_) {
    run_id_ = run.id;
    scalars_.clear();
    cached_.clear();
  }
  scalars_.resize(run.routing.size());
  cached_.resize(run.routing.size());
  for (size_t l = 0; l < run.routing.size(); ++l) {
    const LayerView v = layer_view(run, int32_t(l), {0, 0});  // reads probabilities only
    auto& cached = cached_[l];
    auto& scalars = scalars_[l];
    cached.resize(size_t(v.n_positions), 0);
    scalars.resize(size_t(v.n_positions));
    // Positions arrive in order; walk back from the end to the last one already cached.
    int64_t p = v.n_positions - 1;
    while (p >= 0 && !cached[size_t(p)]) --p;
    for (++p; p < v.n_positions; ++p) {
      if (!v.present(p)) continue;
      scalars[size_t(p)] = token_router_scalars(v.probs(p), v.n_experts, v.top_k);
      cached[size_t(p)] = 1;
    }
  }
}

const TokenRouterScalars* RoutingCache::find(int32_t layer, int64_t p) const {
  if (layer < 0 || size_t(layer) >= cached_.size() || p < 0 ||
      size_t(p) >= cached_[size_t(layer)].size() || !cached_[size_t(layer)][size_t(p)])
    return nullptr;
  return &scalars_[size_t(layer)][size_t(p)];
}

LayerRoutingStats layer_routing_stats(const storage::RunData& run, int32_t layer,
                                      const PositionRange& range,
                                      const RoutingStatsOptions& options,
                                      const RoutingCache* cache) {
  const LayerView v = layer_view(run, layer, range);
  const int64_t E = v.n_experts, K = v.top_k;
  LayerRoutingStats s;
  s.layer = layer;
  s.load.assign(size_t(E), 0);
  s.first_load.assign(size_t(E), 0);
  s.share.assign(size_t(E), kNaN);
  s.mean_prob.assign(size_t(E), 0.0);

  double h_sum = 0, margin_sum = 0, mass_sum = 0, gate_sum = 0, z_sum = 0;
  bool all_logits = true;
  for (int64_t p = v.begin(range), end = v.end(range); p < end; ++p) {
    if (!v.present(p)) continue;
    ++s.tokens;
    if (const float* x = v.logits(p); x && all_logits)
      z_sum += router_z_loss(x, 1, E);
    else
      all_logits = false;
    const float* probs = v.probs(p);
    const int32_t* ids = v.ids(p);
    const float* gates = v.gates(p);
    for (int64_t r = 0; r < K; ++r) {
      ++s.load[size_t(ids[r])];
      gate_sum += gates[r];
    }
    ++s.first_load[size_t(ids[0])];
    for (int64_t i = 0; i < E; ++i) s.mean_prob[size_t(i)] += probs[i];
    const TokenRouterScalars* cached = cache ? cache->find(layer, p) : nullptr;
    const TokenRouterScalars x = cached ? *cached : token_router_scalars(probs, E, K);
    h_sum += x.entropy;
    margin_sum += x.margin;
    mass_sum += x.topk_mass;
  }

  const double T = double(s.tokens);
  if (s.tokens == 0) {
    std::fill(s.mean_prob.begin(), s.mean_prob.end(), kNaN);
    s.cv = s.max_over_mean = s.load_entropy = s.aux_switch = s.aux_hf_topk = s.aux_normalised =
        s.router_entropy = s.router_entropy_nats = s.top1_margin = s.topk_mass = s.gate_sum =
            s.drop_rate = s.router_z_loss = kNaN;
    s.capacity_factor = options.capacity_factor;
    return s;
  }
  for (double& q : s.mean_prob) q /= T;
  s.router_entropy_nats = h_sum / T;
  s.router_entropy = E > 1 ? s.router_entropy_nats / std::log(double(E)) : 0.0;
  s.top1_margin = margin_sum / T;
  s.topk_mass = mass_sum / T;
  s.gate_sum = gate_sum / T;
  s.router_z_loss = all_logits ? z_sum / T : kNaN;
  finish_loads(s, E, K, options.capacity_factor);
  return s;
}

std::vector<LayerRoutingStats> routing_stats(const storage::RunData& run,
                                             const PositionRange& range,
                                             const RoutingStatsOptions& options,
                                             const RoutingCache* cache) {
  std::vector<LayerRoutingStats> out;
  out.reserve(run.routing.size());
  for (size_t l = 0; l < run.routing.size(); ++l)
    out.push_back(layer_routing_stats(run, int32_t(l), range, options, cache));
  return out;
}

double router_z_loss(const float* logits, int64_t t, int64_t n_experts) {
  if (t <= 0 || n_experts <= 0) return kNaN;
  double sum = 0;
  for (int64_t i = 0; i < t; ++i) {
    const float* x = logits + i * n_experts;
    const double m = *std::max_element(x, x + n_experts);
    double z = 0;
    for (int64_t e = 0; e < n_experts; ++e) z += std::exp(double(x[e]) - m);
    const double lse = m + std::log(z);
    sum += lse * lse;
  }
  return sum / double(t);
}

}  // namespace moescope::inspectors
