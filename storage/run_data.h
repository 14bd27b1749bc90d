// One run as the views and analyses see it: everything the engine reported, in memory, indexed
// for reading. Filled live by TraceModel from trace events, or loaded from a trace file.
// Shape legend: P positions, E experts, K selected per token, L layers, Q query rows, S keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/trace/events.h"

namespace moescope::storage {

using trace::MemorySample;
using trace::RunInfo;
using trace::RunStatus;
using trace::TokenPhase;

struct TokenRecord {
  int64_t position = 0;
  int64_t step = 0;
  int32_t id = 0;
  TokenPhase phase = TokenPhase::Prompt;
  float logprob = 0.0f;  // NaN when nothing predicts the token (the first prompt token)
  int32_t n_top = 0;
  int32_t top_ids[trace::TokenEvent::kTop] = {};
  float top_logprobs[trace::TokenEvent::kTop] = {};
  int64_t time_ns = 0;
  std::string text;
};

// The router decisions of one layer, indexed by position; present[p] == 0 where none was
// recorded (routing capture off, or dropped).
struct LayerRouting {
  std::vector<float> probs;      // [P, E]
  std::vector<int32_t> ids;      // [P, K]
  std::vector<float> gates;      // [P, K]
  std::vector<float> logits;     // [P, E] raw router logits; NaN where not recorded
  std::vector<uint8_t> present;  // [P]
  std::vector<int64_t> step;     // [P] the forward call that routed each position
};

struct OpRecord {
  int32_t name = 0;  // index into RunData::strings
  int32_t kind = 0;  // index into RunData::strings
  int64_t step = 0;
  int32_t layer = -1;
  int32_t expert = -1;
  int32_t device = 0;
  int32_t stream = 0;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t bytes = 0;
  int64_t flops = 0;
};

// Post-softmax probabilities of one (layer, head) for queries q0 .. q0+Q-1 over keys 0 .. S-1,
// stored as f16 (DESIGN.md section 4).
struct AttentionRecord {
  int64_t step = 0;
  int32_t layer = 0;
  int32_t head = 0;
  int32_t kv_head = 0;
  int64_t q0 = 0;
  int32_t n_queries = 0;
  int64_t n_keys = 0;
  std::vector<uint16_t> probs_f16;  // [Q, S]

  float at(int32_t row, int64_t key) const;  // f16 -> f32
};

// Events dropped because a queue was full, per kind (never silent: also stored in the file).
struct DropCounts {
  int64_t tokens = 0;
  int64_t routing = 0;
  int64_t attention = 0;
  int64_t ops = 0;
  int64_t memory = 0;  // memory samples
  int64_t total() const { return tokens + routing + attention + ops + memory; }
};

struct RunData {
  int64_t id = 0;
  RunInfo info;
  RunStatus status = RunStatus::Running;
  int64_t end_ns = 0;  // trace clock; 0 while running
  std::string error;   // why a run was aborted, when known

  std::vector<TokenRecord> tokens;    // tokens[p].position == p
  std::vector<LayerRouting> routing;  // [L]
  std::vector<OpRecord> ops;          // in the order they were recorded
  std::vector<std::string> strings;   // interned op names and kinds
  std::vector<AttentionRecord> attention;
  std::vector<MemorySample> memory;  // in the order they were sampled
  DropCounts drops;
  uint64_t version = 0;  // incremented by every change, so views can tell when to redraw

  int64_t n_positions() const { return int64_t(tokens.size()); }
  int64_t prompt_tokens() const;
  int64_t generated_tokens() const;
  // Index of s in strings, adding it when new.
  int32_t intern(const std::string& s);
};

// One line of a run listing.
struct RunSummary {
  int64_t id = 0;
  std::string model;
  std::string prompt;
  int64_t start_unix_ns = 0;
  double duration_s = 0;  // 0 while running
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  RunStatus status = RunStatus::Running;
};

}  // namespace moescope::storage
