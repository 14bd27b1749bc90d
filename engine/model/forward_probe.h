// Observation points inside the forward pass (style-anchors lesson 6: values are named by
// (name, layer) where they are computed). The tracing layer implements this interface; the
// golden-output tests use it to read router decisions. A null probe costs one branch per layer.
#pragma once

#include <cstdint>

namespace moescope {

class ForwardProbe {
 public:
  virtual ~ForwardProbe() = default;

  // moe.router for tokens at positions p0 .. p0+T-1 of one layer.
  // probs [T, E] (softmax over all experts, f32), ids [T, K], gates [T, K].
  virtual void on_routing(int64_t layer, int64_t p0, int64_t t, int64_t n_experts, int64_t top_k,
                          const float* probs, const int32_t* ids, const float* gates) {}

  // Whether attn.pattern of this layer is wanted for the next call (probabilities cost memory).
  virtual bool wants_attention(int64_t layer, int64_t p0, int64_t t) { return false; }
  // attn.pattern: post-softmax probabilities [Hq, T, S] for queries p0 .. p0+T-1, S = p0 + T.
  virtual void on_attention(int64_t layer, int64_t p0, int64_t t, int64_t n_heads,
                            const float* probs) {}
};

}  // namespace moescope
