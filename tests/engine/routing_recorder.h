// A trace sink that keeps every routing decision, for tests that compare router outputs.
// tracer() is a Tracer with routing capture only, to pass to Model::forward.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "engine/trace/tracer.h"

namespace moescope::test {

class RoutingRecorder : public trace::TraceSink {
 public:
  RoutingRecorder(int64_t layers, int64_t experts, int64_t top_k)
      : layers_(layers), experts_(experts), top_k_(top_k), tracer_(this, routing_only()) {}

  trace::Tracer* tracer() { return &tracer_; }

  int64_t begin_run(const trace::RunInfo&) override { return 1; }
  void end_run(int64_t, trace::RunStatus, int64_t, const std::string&) override {}
  void token(int64_t, const trace::TokenEvent&) override {}
  void attention(int64_t, const trace::AttentionBlock&) override {}
  void op(int64_t, const trace::OpEvent&) override {}
  void routing(int64_t, const trace::RoutingBlock& b) override {
    EXPECT_EQ(b.n_experts, experts_);
    EXPECT_EQ(b.top_k, top_k_);
    grow(b.p0 + b.t);
    for (int64_t i = 0; i < b.t; ++i) {
      const int64_t pos = b.p0 + i;
      std::copy_n(b.probs + i * experts_, experts_, &probs_[index(b.layer, pos) * experts_]);
      std::copy_n(b.ids + i * top_k_, top_k_, &ids_[index(b.layer, pos) * top_k_]);
      std::copy_n(b.gates + i * top_k_, top_k_, &gates_[index(b.layer, pos) * top_k_]);
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

  static trace::CaptureSettings routing_only() {
    trace::CaptureSettings c;
    c.ops = false;
    return c;
  }

  int64_t layers_, experts_, top_k_, positions_ = 0;
  trace::Tracer tracer_;
  std::vector<float> probs_, gates_;
  std::vector<int32_t> ids_;
};

}  // namespace moescope::test
