#include "engine/session/traced_run.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/config/config_json.h"
#include "engine/core/error.h"
#include "engine/session/machine_info.h"
#include "engine/session/memory_sampler.h"
#include "engine/trace/clock.h"

namespace moescope {

namespace {

std::string capture_json(const trace::CaptureSettings& c) {
  nlohmann::json j = {{"routing", c.routing},
                      {"ops", c.ops},
                      {"attention", c.attention},
                      {"attention_layers", c.attention_layers},
                      {"attention_heads", c.attention_heads},
                      {"attention_prompt_max_cells", c.attention_prompt_max_cells},
                      {"attention_first_step", c.attention_first_step},
                      {"attention_last_step", c.attention_last_step},
                      {"attention_budget_bytes", c.attention_budget_bytes},
                      {"prompt_logprobs", c.prompt_logprobs},
                      {"memory_interval_ms", c.memory_interval_ms}};
  return j.dump();
}

std::string sampling_json(const GenerationOptions& g) {
  nlohmann::json j = {{"temperature", g.sampling.temperature},
                      {"top_k", g.sampling.top_k},
                      {"top_p", g.sampling.top_p},
                      {"seed", g.sampling.seed},
                      {"max_tokens", g.max_tokens},
                      {"stop_at_eos", g.stop_at_eos}};
  return j.dump();
}

trace::RunInfo run_info(const Decoder& model, const Tokenizer& tok, const RunRequest& r,
                        const trace::CaptureSettings& capture) {
  const ModelConfig& c = model.config();
  trace::RunInfo info;
  info.model = r.model_name;
  info.model_dir = r.model_dir;
  info.config_json = config_to_json(c);
  info.tokenizer = tok.kind() + ":" + tok.path();
  info.prompt = r.prompt;
  info.sampling_json = sampling_json(r.generation);
  info.capture_json = capture_json(capture);
  info.machine_json = machine_json(model.threads());
  // A sharded model names its ranks' devices in its layout; one device otherwise.
  const nlohmann::json layout = nlohmann::json::parse(model.layout_json(), nullptr, false);
  info.devices_json =
      layout.is_object() && layout.contains("devices") ? layout["devices"].dump() : R"(["cpu"])";
  info.layout_json = model.layout_json();
  info.n_layers = int32_t(c.n_layers);
  info.n_experts = int32_t(c.n_experts);
  info.top_k = int32_t(c.top_k);
  info.n_heads = int32_t(c.n_heads);
  info.n_kv_heads = int32_t(c.n_kv_heads);
  info.vocab_size = c.vocab_size;
  info.start_unix_ns = trace::unix_now_ns();
  info.start_ns = trace::now_ns();
  return info;
}

void fill_choice(trace::TokenEvent& e, const TokenChoice& c) {
  e.logprob = c.logprob;
  e.n_top = c.n_top;
  for (int i = 0; i < c.n_top; ++i) {
    e.top_ids[i] = c.top_ids[size_t(i)];
    e.top_logprobs[i] = c.top_logprobs[size_t(i)];
  }
}

}  // namespace

int64_t traced_run_capacity(const ModelConfig& config, int64_t prompt_tokens, int64_t max_tokens) {
  const int64_t needed = prompt_tokens + std::max<int64_t>(max_tokens - 1, 0);
  return std::clamp<int64_t>(needed + 1, 1, config.max_seq_len);
}

RunOutcome traced_generate(Model& model, const Tokenizer& tok, const RunRequest& request,
                           trace::Tracer& tracer,
                           const std::function<bool(const trace::TokenEvent&)>& on_token,
                           const std::atomic<bool>* stop) {
  RunRequest encoded = request;  // the prompt encoded once, here, for the cache size and the run
  if (encoded.prompt_ids.empty()) encoded.prompt_ids = tok.encode(request.prompt);
  KvCache cache(model.config(),
                traced_run_capacity(model.config(), int64_t(encoded.prompt_ids.size()),
                                    request.generation.max_tokens));
  LocalDecoder decoder(model, cache);
  return traced_generate(decoder, tok, encoded, tracer, on_token, stop);
}

RunOutcome traced_generate(Decoder& model, const Tokenizer& tok, const RunRequest& request,
                           trace::Tracer& tracer,
                           const std::function<bool(const trace::TokenEvent&)>& on_token,
                           const std::atomic<bool>* stop) {
  const ModelConfig& c = model.config();
  RunOutcome out;
  out.prompt_ids = request.prompt_ids.empty() ? tok.encode(request.prompt) : request.prompt_ids;
  if (out.prompt_ids.empty()) fail("the prompt encodes to no tokens (expected some text)");
  GenerationOptions opt = request.generation;
  opt.prompt_logits = tracer.capture().prompt_logprobs;
  const int64_t needed = int64_t(out.prompt_ids.size()) + std::max<int64_t>(opt.max_tokens - 1, 0);
  if (needed > c.max_seq_len)
    fail("the prompt is ", out.prompt_ids.size(), " tokens; with --max-tokens ", opt.max_tokens,
         " it needs ", needed, " positions, more than the model's context of ", c.max_seq_len,
         " (max_position_embeddings in ", c.name, ")");

  out.run_id = tracer.begin_run(run_info(model, tok, request, tracer.capture()));
  // The first sample is the baseline (model and cache allocated, nothing generated yet).
  MemorySampler memory(tracer);
  memory.sample(0);
  std::vector<int32_t> all = out.prompt_ids;  // the sequence so far, for token texts in context
  bool keep_going = true;
  auto emit = [&](trace::TokenEvent& e) {
    e.text = token_text_in_context(tok, all, size_t(e.position));
    tracer.token(e);
    if (on_token && !on_token(e)) keep_going = false;
    if (stop && stop->load(std::memory_order_relaxed)) keep_going = false;
  };

  try {
    const int64_t prefill_start = trace::now_ns();
    auto on_prompt = [&](std::span<const float> logits) {
      for (size_t p = 0; p < out.prompt_ids.size(); ++p) {
        trace::TokenEvent e;
        e.position = int64_t(p);
        e.step = 0;
        e.id = out.prompt_ids[p];
        e.phase = trace::TokenPhase::Prompt;
        e.time_ns = prefill_start;
        if (p == 0) {
          e.logprob = std::numeric_limits<float>::quiet_NaN();
        } else {
          fill_choice(e, describe_choice(logits.data() + (p - 1) * size_t(c.vocab_size),
                                         c.vocab_size, out.prompt_ids[p]));
        }
        emit(e);
      }
    };
    if (!opt.prompt_logits) {
      // Without prompt logits the prompt is still recorded, with unknown log-probabilities.
      for (size_t p = 0; p < out.prompt_ids.size(); ++p) {
        trace::TokenEvent e;
        e.position = int64_t(p);
        e.id = out.prompt_ids[p];
        e.logprob = std::numeric_limits<float>::quiet_NaN();
        e.time_ns = prefill_start;
        emit(e);
      }
    }
    out.stats = generate(
        model, out.prompt_ids, opt,
        [&](const GeneratedToken& g) {
          if (!keep_going) return false;
          all.push_back(g.choice.id);
          out.generated_ids.push_back(g.choice.id);
          trace::TokenEvent e;
          e.position = g.position;
          e.step = g.step + 1;  // sampled from step g.step's logits, processed by the next
          e.id = g.choice.id;
          e.phase = trace::TokenPhase::Generated;
          e.time_ns = trace::now_ns();
          fill_choice(e, g.choice);
          emit(e);
          memory.maybe_sample(g.step);
          return keep_going;
        },
        &tracer, on_prompt);
    const bool record_model = tracer.on(trace::kRouting) || tracer.on(trace::kAttention);
    if (record_model && !out.generated_ids.empty() && model.length() < model.capacity()) {
      std::vector<float> logits(size_t(c.vocab_size));
      tracer.set_step(int64_t(out.generated_ids.size()));
      model.forward(std::span<const int32_t>(&out.generated_ids.back(), 1), logits.data(), false,
                    &tracer);
    }
  } catch (const std::exception& e) {
    out.status = trace::RunStatus::Aborted;
    out.error = e.what();
    memory.sample(tracer.step());
    tracer.end_run(out.status, out.error);
    throw;
  }
  out.status = trace::RunStatus::Complete;
  memory.sample(tracer.step());
  tracer.end_run(out.status);
  return out;
}

}  // namespace moescope
