// What panels ask of the application. Panels never call the engine (DESIGN.md section 2): they
// post one of these commands, and the application routes it (app/gui/command_router) to the
// engine's worker thread or to the trace browser. Plain data, no engine types.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

namespace moescope::panels {

struct SamplingRequest {
  int64_t max_tokens = 64;
  float temperature = 0.0f;  // 0 = greedy
  int64_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off
  uint64_t seed = 42;
  bool stop_at_eos = false;
};

// What the next run records (mirrors the engine's CaptureSettings).
struct CaptureRequest {
  bool routing = true;
  bool ops = true;
  bool attention = true;
  std::vector<int32_t> attention_layers;  // empty = every layer
  std::vector<int32_t> attention_heads;   // empty = every query head
  int64_t attention_first_step = 0;       // 0 = the prefill
  int64_t attention_last_step = std::numeric_limits<int64_t>::max();
  int64_t attention_prompt_max_cells = int64_t(1) << 20;
  int64_t attention_budget_mb = 64;
  bool prompt_logprobs = true;
};

// The settings the console and the model panel edit together and a Generate carries.
struct GenerationSettings {
  SamplingRequest sampling;
  CaptureRequest capture;
};

namespace cmd {
struct Generate {
  std::string prompt;
  GenerationSettings settings;
};
struct Stop {};
// Forget the run on show (the console empties; nothing is deleted from the trace file).
struct Clear {};
// Browse another trace file (its runs are listed; none is loaded until selected).
struct OpenTrace {
  std::string path;
};
// Show run `run` of the current trace file in every panel (loading it when needed); with
// compare, make it the second run of the comparison instead (-1 clears it).
struct SelectRun {
  int64_t run = -1;
  bool compare = false;
};
// List the current trace file's runs again.
struct ReloadRuns {};
}  // namespace cmd

using Command = std::variant<cmd::Generate, cmd::Stop, cmd::Clear, cmd::OpenTrace, cmd::SelectRun,
                             cmd::ReloadRuns>;

class CommandSink {
 public:
  virtual ~CommandSink() = default;
  // Never blocks: the command is queued or handled at once.
  virtual void post(Command command) = 0;
};

// "0,2,5-7" -> {0, 2, 5, 6, 7}; "" -> {}. False (out untouched) on anything else.
bool parse_index_list(const std::string& text, std::vector<int32_t>* out);
std::string format_index_list(const std::vector<int32_t>& list);

}  // namespace moescope::panels
