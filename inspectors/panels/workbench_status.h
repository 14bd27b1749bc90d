// What the application tells the panels each frame, beside the trace itself: the engine's state,
// the loaded model's facts, and the trace file being shown. Plain data copied once per frame by
// the application (panels hold no reference to anything that another thread changes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/run_data.h"

namespace moescope::panels {

enum class EngineState {
  None,        // browsing a trace file: no model
  Loading,     // the worker is reading the model
  Ready,       // idle, a Generate will start at once
  Generating,  // a run is going
  Failed,      // the model could not be loaded (message says why)
};

const char* engine_state_name(EngineState s);

struct KeyValue {
  std::string key, value;
};

// The loaded model, as the engine describes it (computed by the application).
struct ModelFacts {
  std::string name;
  std::string dir;
  std::string architecture;
  std::vector<KeyValue> config;  // layers, d_model, heads, experts, top-k, context, ...
  std::vector<KeyValue> params;  // parameter counts
  std::vector<KeyValue> memory;  // weight bytes, KV cache
  std::vector<std::string> devices;
  std::string layout;  // parallel layout
  int32_t n_layers = 0, n_heads = 0, n_kv_heads = 0, n_experts = 0, top_k = 0;
  int64_t context = 0;
  int threads = 0;
};

struct EngineStatus {
  EngineState state = EngineState::None;
  std::string message;  // a line for the status bar (errors included)
  ModelFacts model;
  int64_t live_run = -1;  // the run being generated, or the last one
  int64_t prompt_tokens = 0;
  int64_t generated = 0;
  int64_t max_tokens = 0;
  double tokens_per_second = 0;  // decode rate of the live run
};

struct SourceStatus {
  std::string path;        // the trace file shown
  bool recording = false;  // it is the file this session writes
  bool busy = false;       // listing or loading
  std::string error;
  std::vector<storage::RunSummary> runs;  // of the file, in id order
};

struct WorkbenchStatus {
  EngineStatus engine;
  SourceStatus source;
  double frame_ms = 0;
};

}  // namespace moescope::panels
