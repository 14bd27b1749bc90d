// One recorded generation: the prompt is tokenized, the run registered with the trace (model
// config, prompt, sampling and capture settings, machine), every prompt and generated token
// reported with its log-probability and top alternatives, routing / attention / ops captured as
// the settings ask, and the run closed as complete, or aborted when an error stops it.
// This is what `moescope run` and the workbench's engine thread execute.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "engine/session/decoder.h"
#include "engine/session/generate.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/trace/tracer.h"

namespace moescope {

struct RunRequest {
  std::string prompt;
  std::vector<int32_t> prompt_ids;  // when not empty, the prompt's tokens (prompt is not encoded)
  GenerationOptions generation;
  std::string model_name;  // for the run record (e.g. the directory's basename)
  std::string model_dir;
};

struct RunOutcome {
  int64_t run_id = 0;
  trace::RunStatus status = trace::RunStatus::Running;
  std::string error;
  GenerationStats stats;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
};

// Runs request on model, reporting to tracer (whose capture settings decide what is recorded;
// tokens are always recorded). on_token sees every token event (prompt first, then each
// generated one) and returns false to stop; *stop (if given) is polled between steps. A stop
// ends the run as complete. An exception ends it as aborted (with the message) and is rethrown.
RunOutcome traced_generate(Model& model, const Tokenizer& tokenizer, const RunRequest& request,
                           trace::Tracer& tracer,
                           const std::function<bool(const trace::TokenEvent&)>& on_token = {},
                           const std::atomic<bool>* stop = nullptr);
// The cache positions a traced run of prompt_tokens + max_tokens needs: one more than generation
// itself (when the context has room), so the last generated token is run through the model too
// and every recorded token has its routing.
int64_t traced_run_capacity(const ModelConfig& config, int64_t prompt_tokens, int64_t max_tokens);

// The same on a decoder whose cache is empty and has room for the run (a sharded model too; its
// parallel layout goes into the run record).
RunOutcome traced_generate(Decoder& decoder, const Tokenizer& tokenizer, const RunRequest& request,
                           trace::Tracer& tracer,
                           const std::function<bool(const trace::TokenEvent&)>& on_token = {},
                           const std::atomic<bool>* stop = nullptr);

}  // namespace moescope
