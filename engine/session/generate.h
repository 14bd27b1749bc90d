// The generation loop: prefill the prompt, then decode one token at a time, streaming each
// choice to a callback that may stop the loop. Times prefill and decode separately.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "engine/model/model.h"
#include "engine/sample/sampler.h"
#include "engine/session/decoder.h"

namespace moescope {

struct GenerationOptions {
  int64_t max_tokens = 64;
  SamplingParams sampling;
  bool stop_at_eos = false;  // the reference runner never stops on EOS (grok-architecture.md 6)
  // Compute the logits of every prompt position (for prompt log-probabilities), not only the
  // last: one more output projection per prompt token.
  bool prompt_logits = false;
};

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;  // all decode steps after the first generated token
  bool stopped_at_eos = false;
  bool stopped_by_caller = false;

  double prefill_tokens_per_second() const;
  double decode_tokens_per_second() const;
};

// A generated token, as the callback sees it: position in the sequence and the choice.
struct GeneratedToken {
  int64_t position = 0;
  int64_t step = 0;  // 0 for the token sampled from the prefill logits
  TokenChoice choice;
};

// Generates after prompt into cache (which must be empty or hold a prefix of the same
// sequence; the prompt is appended). on_token returns false to stop. Throws moescope::Error when
// prompt plus max_tokens does not fit the cache.
// With options.prompt_logits, on_prompt receives the prefill's logits [T, V] before the first
// token is sampled. With a tracer, each forward call is reported as its step (0 = prefill,
// n = n-th decode).
GenerationStats generate(Model& model, KvCache& cache, std::span<const int32_t> prompt,
                         const GenerationOptions& options,
                         const std::function<bool(const GeneratedToken&)>& on_token,
                         trace::Tracer* tracer = nullptr,
                         const std::function<void(std::span<const float>)>& on_prompt = {});
// The same on any decoder (a sharded model too).
GenerationStats generate(Decoder& decoder, std::span<const int32_t> prompt,
                         const GenerationOptions& options,
                         const std::function<bool(const GeneratedToken&)>& on_token,
                         trace::Tracer* tracer = nullptr,
                         const std::function<void(std::span<const float>)>& on_prompt = {});

}  // namespace moescope
