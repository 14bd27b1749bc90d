#include "engine/session/generate.h"

#include <chrono>
#include <vector>

#include "engine/core/error.h"

namespace moescope {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

double GenerationStats::prefill_tokens_per_second() const {
  return prefill_seconds > 0 ? double(prompt_tokens) / prefill_seconds : 0;
}
double GenerationStats::decode_tokens_per_second() const {
  // The first generated token comes from the prefill logits; decode steps produce the rest.
  const int64_t steps = generated_tokens > 1 ? generated_tokens - 1 : 0;
  return decode_seconds > 0 ? double(steps) / decode_seconds : 0;
}

GenerationStats generate(Model& model, KvCache& cache, std::span<const int32_t> prompt,
                         const GenerationOptions& options,
                         const std::function<bool(const GeneratedToken&)>& on_token,
                         trace::Tracer* tracer,
                         const std::function<void(std::span<const float>)>& on_prompt) {
  LocalDecoder decoder(model, cache);
  return generate(decoder, prompt, options, on_token, tracer, on_prompt);
}

GenerationStats generate(Decoder& model, std::span<const int32_t> prompt,
                         const GenerationOptions& options,
                         const std::function<bool(const GeneratedToken&)>& on_token,
                         trace::Tracer* tracer,
                         const std::function<void(std::span<const float>)>& on_prompt) {
  const ModelConfig& c = model.config();
  if (prompt.empty()) fail("the prompt is empty (expected at least one token)");
  if (options.max_tokens < 0) fail("--max-tokens is ", options.max_tokens, ", expected >= 0");
  // The last sampled token is never fed back, so it needs no cache row.
  const int64_t needed = model.length() + int64_t(prompt.size()) +
                         (options.max_tokens > 0 ? options.max_tokens - 1 : 0);
  if (needed > model.capacity())
    fail("the prompt (", prompt.size(), " tokens) plus ", options.max_tokens,
         " tokens to generate need ", needed, " positions, more than the context of ",
         model.capacity(), " (max_position_embeddings ", c.max_seq_len, ")");

  GenerationStats stats;
  stats.prompt_tokens = int64_t(prompt.size());
  Sampler sampler(options.sampling);
  std::vector<float> logits(size_t(c.vocab_size));

  auto t0 = std::chrono::steady_clock::now();
  if (tracer) tracer->set_step(0);
  if (options.prompt_logits) {
    const size_t V = size_t(c.vocab_size);
    std::vector<float> all(prompt.size() * V);
    model.forward(prompt, all.data(), true, tracer);
    stats.prefill_seconds = seconds_since(t0);
    std::copy(all.end() - long(V), all.end(), logits.begin());
    if (on_prompt) on_prompt(all);
  } else {
    model.forward(prompt, logits.data(), false, tracer);
    stats.prefill_seconds = seconds_since(t0);
  }
  if (options.max_tokens == 0) return stats;

  auto t1 = std::chrono::steady_clock::now();
  for (int64_t step = 0;; ++step) {
    GeneratedToken tok;
    tok.position = model.length();
    tok.step = step;
    tok.choice = sampler.sample(logits.data(), c.vocab_size);
    ++stats.generated_tokens;
    if (!on_token(tok)) {
      stats.stopped_by_caller = true;
      break;
    }
    if (options.stop_at_eos && tok.choice.id == c.eos_id) {
      stats.stopped_at_eos = true;
      break;
    }
    if (stats.generated_tokens >= options.max_tokens) break;
    int32_t id = tok.choice.id;
    if (tracer) tracer->set_step(step + 1);
    model.forward(std::span<const int32_t>(&id, 1), logits.data(), false, tracer);
  }
  stats.decode_seconds = seconds_since(t1);
  return stats;
}

}  // namespace moescope
