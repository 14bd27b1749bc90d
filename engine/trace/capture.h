// What a run records: the capture settings and their runtime mask. Attention maps are the
// expensive part (layers x heads x T x S values), so they are captured under a budget: chosen
// layers, heads and decode steps, the prompt's full maps only up to a size, and a byte cap over
// the whole run.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/trace/events.h"

namespace moescope::trace {

struct CaptureSettings {
  bool routing = true;
  bool ops = true;
  bool attention = false;
  std::vector<int32_t> attention_layers;  // empty = every layer
  std::vector<int32_t> attention_heads;   // query heads; empty = every head
  // Per head, the prompt's map (T x S cells) is kept whole when it has at most this many cells;
  // a longer prompt keeps its last rows that fit.
  int64_t attention_prompt_max_cells = int64_t(1) << 20;
  int64_t attention_first_step = 0;  // decode steps (0 = the prefill) to capture
  int64_t attention_last_step = std::numeric_limits<int64_t>::max();
  int64_t attention_budget_bytes = int64_t(256) << 20;  // f16 payload over the run
  // Log-probabilities and top alternatives of the prompt's tokens (needs every prompt
  // position's logits: one output projection per prompt token).
  bool prompt_logprobs = true;
  // The process's memory is sampled at most this often during a run (0 = never): one read of
  // /proc between two steps, so that a long run shows whether it stayed within its budgets.
  int64_t memory_interval_ms = 100;

  uint32_t mask() const {
    return (routing ? kRouting : 0u) | (ops ? kOps : 0u) | (attention ? kAttention : 0u);
  }
};

}  // namespace moescope::trace
