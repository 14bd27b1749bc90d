// A ForwardProbe that keeps every routing decision, for tests that compare router outputs.
#pragma once

#include <vector>

#include "engine/model/forward_probe.h"

namespace moescope::test {

class RoutingRecorder : public ForwardProbe {
 public:
  RoutingRecorder(int64_t layers, int64_t experts, int64_t top_k)
      : layers_(layers), experts_(experts), top_k_(top_k) {}

  void on_routing(int64_t layer, int64_t p0, int64_t t, int64_t n_experts, int64_t top_k,
                  const float* probs, const int32_t* ids, const float* gates) override {
    grow(p0 + t);
    for (int64_t i = 0; i < t; ++i) {
      const int64_t pos = p0 + i;
      std::copy_n(probs + i * experts_, experts_, &probs_[index(layer, pos) * experts_]);
      std::copy_n(ids + i * top_k_, top_k_, &ids_[index(layer, pos) * top_k_]);
      std::copy_n(gates + i * top_k_, top_k_, &gates_[index(layer, pos) * top_k_]);
    }
  }

  int64_t positions() const { return positions_; }
  // [L, T, E], [L, T, K], [L, T, K] over the positions seen so far.
  const std::vector<float>& probs() const { return probs_; }
  const std::vector<int32_t>& ids() const { return ids_; }
  const std::vector<float>& gates() const { return gates_; }

 private:
  int64_t index(int64_t layer, int64_t pos) const { return layer * positions_ + pos; }
  void grow(int64_t n) {
    if (n <= positions_) return;
    // Re-layout [L, T_old, .] into [L, n, .].
    auto relayout = [&](auto& v, int64_t w) {
      std::remove_reference_t<decltype(v)> out(size_t(layers_ * n * w));
      for (int64_t l = 0; l < layers_; ++l)
        for (int64_t p = 0; p < positions_ * w; ++p)
          out[size_t(l * n * w + p)] = v[size_t(l * positions_ * w + p)];
      v.swap(out);
    };
    relayout(probs_, experts_);
    relayout(ids_, top_k_);
    relayout(gates_, top_k_);
    positions_ = n;
  }

  int64_t layers_, experts_, top_k_, positions_ = 0;
  std::vector<float> probs_, gates_;
  std::vector<int32_t> ids_;
};

}  // namespace moescope::test
