// The one way a RunData grows, shared by the live TraceModel and the file reader, so that a run
// loaded from a file is equal to the run the model built from the same events (the tests check
// exactly that). Shape legend: T positions in a block, E experts, K selected per token.
#pragma once

#include <cstdint>

#include "engine/trace/events.h"
#include "storage/run_data.h"

namespace moescope::storage {

// A fresh running run; routing has one (empty) LayerRouting per layer.
void init_run(RunData& run, int64_t id, const RunInfo& info);

TokenRecord token_record(const trace::TokenEvent& e);
// Places the token at its position. Positions skipped on the way (a token dropped from a full
// queue) are filled with a placeholder of id -1, empty text and NaN logprob, so that
// tokens[p].position == p always holds.
void set_token(RunData& run, TokenRecord t);

// Which step routed each position of a block: step0 + i * stride (a file row's pattern; the
// engine's blocks are one step, stride 0).
struct BlockSteps {
  int64_t step0 = 0;
  int64_t stride = 0;
  int64_t at(int64_t i) const { return step0 + i * stride; }
};

// Records positions p0 .. p0+T-1 of one layer (probs [T, E], ids [T, K], gates [T, K], logits
// [T, E] or null), growing
// the layer as needed; a later decision for a position replaces an earlier one. A layer's E and K
// are fixed by its first block; a block of another shape is ignored (it breaks the contract).
void set_routing(RunData& run, int32_t layer, int64_t p0, int32_t t, int32_t n_experts,
                 int32_t top_k, const float* probs, const int32_t* ids, const float* gates,
                 const float* logits, const BlockSteps& steps);

void add_drops(DropCounts& to, const DropCounts& d);

}  // namespace moescope::storage
