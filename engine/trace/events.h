// The trace contract (DESIGN.md section 4): what the engine reports about a run, and in what
// shape. Header-only and std-only, so storage/ depends on this folder alone.
//
// Times are int64 nanoseconds of one monotonic clock (trace/clock.h). Blocks carry pointers
// into the engine's buffers that are valid only during the sink call: sinks copy what they keep.
// Shape legend: T positions in a block, E experts, K selected per token, S keys.
#pragma once

#include <cstdint>
#include <string>

namespace moescope::trace {

// Runtime capture categories, one bit each (the runtime mask).
enum Category : uint32_t {
  kRouting = 1u << 0,
  kAttention = 1u << 1,
  kOps = 1u << 2,
  kAllCategories = kRouting | kAttention | kOps,
};

enum class RunStatus : uint8_t { Running = 0, Complete = 1, Aborted = 2 };

inline const char* run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::Running:
      return "running";
    case RunStatus::Complete:
      return "complete";
    case RunStatus::Aborted:
      return "aborted";
  }
  return "?";
}

// Everything known about a run when it starts. The JSON fields are produced by the engine and
// stored verbatim; the integer sizes let readers work without parsing the config.
struct RunInfo {
  std::string model;  // display name: directory basename or preset
  std::string model_dir;
  std::string config_json;    // the model configuration
  std::string tokenizer;      // tokenizer file and kind
  std::string prompt;         // the prompt text
  std::string sampling_json;  // temperature, top_k, top_p, seed, max_tokens, stop_at_eos
  std::string capture_json;   // the CaptureSettings in force
  std::string machine_json;   // host, cpu model, cores, threads used
  std::string devices_json;   // ["cpu"] or the GPUs, in device-index order
  std::string layout_json;    // parallel layout (tp/ep ranks); "{}" when single
  int32_t n_layers = 0;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int64_t vocab_size = 0;
  int64_t start_unix_ns = 0;  // wall clock at start (for display)
  int64_t start_ns = 0;       // trace clock at start (times below are on this clock)
};

enum class TokenPhase : uint8_t { Prompt = 0, Generated = 1 };

// One token of the sequence, prompt or generated.
struct TokenEvent {
  static constexpr int kTop = 5;
  int64_t position = 0;  // 0-based position in the sequence
  int64_t step = 0;      // the forward call that processed it (0 = prefill, n = n-th decode)
  int32_t id = 0;
  TokenPhase phase = TokenPhase::Prompt;
  // log p(id | previous tokens); NaN for the first prompt token (nothing predicts it).
  float logprob = 0.0f;
  int32_t n_top = 0;  // alternatives at this position under the model, most likely first
  int32_t top_ids[kTop] = {};
  float top_logprobs[kTop] = {};
  int64_t time_ns = 0;  // when the token was known (sampled, or prefill start for the prompt)
  std::string text;     // the token's text as the tokenizer decodes it in context
};

// The router's decisions for one layer over positions p0 .. p0+T-1 of one forward call.
struct RoutingBlock {
  int64_t step = 0;
  int32_t layer = 0;
  int64_t p0 = 0;
  int32_t t = 0;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  const float* probs = nullptr;  // [T, E] softmax over all experts, f32
  const int32_t* ids = nullptr;  // [T, K] selected experts, most probable first
  const float* gates = nullptr;  // [T, K] mixing weights used
  // [T, E] the router's raw logits (before any soft-cap), or null. The softmax hides their
  // level, which the router z-loss and logit-growth diagnostics need.
  const float* logits = nullptr;
};

// Post-softmax attention of one (layer, head) for queries q0 .. q0+Q-1 over keys 0 .. S-1.
struct AttentionBlock {
  int64_t step = 0;
  int32_t layer = 0;
  int32_t head = 0;
  int32_t kv_head = 0;
  int64_t q0 = 0;
  int32_t n_queries = 0;
  int64_t n_keys = 0;
  const float* probs = nullptr;  // row r at probs + r * row_stride, n_keys values each
  int64_t row_stride = 0;
};

// The process's memory at one point of a run: what a long run's budgets are checked against.
// Sampled by the engine between steps (trace/capture.h: memory_interval_ms).
struct MemorySample {
  int64_t step = 0;             // the run's step when sampled (0 = prefill; also before it)
  int64_t time_ns = 0;          // trace clock
  int64_t rss_bytes = 0;        // resident set size now (/proc/self/statm)
  int64_t peak_rss_bytes = 0;   // the largest resident set so far (getrusage: between samples too)
  int64_t attention_bytes = 0;  // attention maps captured so far (f16), against the budget
};

// A static description of a place in the code that emits op events. Sinks may intern names by
// the site's address: sites live in static storage for the life of the process.
struct OpSite {
  const char* name;  // "attn.q_proj", "moe.expert.down", ...
  const char* kind;  // "matmul", "norm", "rope", "attention", "router", "activation", ...
};

// One op of the forward pass. expert / layer are -1 where not applicable.
struct OpEvent {
  const OpSite* site = nullptr;
  int64_t step = 0;
  int32_t layer = -1;
  int32_t expert = -1;
  int32_t device = 0;  // index into RunInfo::devices_json
  int32_t stream = 0;  // CPU: the emitting engine thread's index; GPU: the stream
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t bytes = 0;  // bytes read and written (weights + activations)
  int64_t flops = 0;  // floating-point operations (a multiply-add counts 2)
};

}  // namespace moescope::trace
