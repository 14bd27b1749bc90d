// The work of one forward pass, computed from the config and the weights' stored dtypes, for
// `moescope bench`'s achieved rates:
// * decode: bytes of weights actually read per decoded token: per layer the attention
//   projections, the router and the top-k selected experts; once, the output projection
//   (norms, the embedding row and the KV cache are left out: a few KiB at these sizes);
// * prefill: floating-point operations of a P-token prompt (multiply-add = 2): every projection,
//   the router, top-k experts per token, causal attention, and the output head of the last
//   token only (bench asks for the last token's logits).
// Counts come from engine/model/op_costs.h, the numbers the trace records per op.
#pragma once

#include <cstdint>

#include "engine/config/model_config.h"
#include "engine/weights/model_weights.h"

namespace moescope::app {

int64_t decode_weight_bytes(const ModelConfig& c, const ModelWeights& w);
int64_t prefill_flops(const ModelConfig& c, const ModelWeights& w, int64_t prompt_tokens);

}  // namespace moescope::app
