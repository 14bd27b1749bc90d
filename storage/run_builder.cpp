// RunData construction rules shared by the live model and the file reader (see run_builder.h).
#include "storage/run_builder.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace moescope::storage {

void init_run(RunData& run, int64_t id, const RunInfo& info) {
  run = RunData();
  run.id = id;
  run.info = info;
  run.status = RunStatus::Running;
  run.routing.resize(size_t(std::max(0, info.n_layers)));
}

TokenRecord token_record(const trace::TokenEvent& e) {
  TokenRecord t;
  t.position = e.position;
  t.step = e.step;
  t.id = e.id;
  t.phase = e.phase;
  t.logprob = e.logprob;
  t.n_top = std::clamp(e.n_top, 0, trace::TokenEvent::kTop);
  std::copy_n(e.top_ids, t.n_top, t.top_ids);
  std::copy_n(e.top_logprobs, t.n_top, t.top_logprobs);
  t.time_ns = e.time_ns;
  t.text = e.text;
  return t;
}

void set_token(RunData& run, TokenRecord t) {
  if (t.position < 0) return;
  const size_t p = size_t(t.position);
  if (run.tokens.size() <= p) {
    const size_t old = run.tokens.size();
    run.tokens.resize(p + 1);
    for (size_t i = old; i < p; ++i) {
      TokenRecord& hole = run.tokens[i];
      hole.position = int64_t(i);
      hole.id = -1;
      hole.phase = t.phase;
      hole.logprob = std::numeric_limits<float>::quiet_NaN();
    }
  }
  run.tokens[p] = std::move(t);
}

void set_routing(RunData& run, int32_t layer, int64_t p0, int32_t t, int32_t n_experts,
                 int32_t top_k, const float* probs, const int32_t* ids, const float* gates,
                 const float* logits, const BlockSteps& steps) {
  if (layer < 0 || p0 < 0 || t <= 0 || n_experts <= 0 || top_k <= 0) return;
  if (run.routing.size() <= size_t(layer)) run.routing.resize(size_t(layer) + 1);
  LayerRouting& r = run.routing[size_t(layer)];
  const size_t e = size_t(n_experts), k = size_t(top_k);
  if (!r.present.empty() &&
      (r.probs.size() != r.present.size() * e || r.ids.size() != r.present.size() * k))
    return;
  const size_t end = size_t(p0) + size_t(t);
  if (r.present.size() < end) {
    r.probs.resize(end * e);
    r.ids.resize(end * k);
    r.gates.resize(end * k);
    r.logits.resize(end * e, std::numeric_limits<float>::quiet_NaN());
    r.present.resize(end);
    r.step.resize(end);
  }
  std::memcpy(&r.probs[size_t(p0) * e], probs, sizeof(float) * size_t(t) * e);
  std::memcpy(&r.ids[size_t(p0) * k], ids, sizeof(int32_t) * size_t(t) * k);
  std::memcpy(&r.gates[size_t(p0) * k], gates, sizeof(float) * size_t(t) * k);
  if (logits) std::memcpy(&r.logits[size_t(p0) * e], logits, sizeof(float) * size_t(t) * e);
  for (int32_t i = 0; i < t; ++i) {
    r.present[size_t(p0) + size_t(i)] = 1;
    r.step[size_t(p0) + size_t(i)] = steps.at(i);
  }
}

void add_drops(DropCounts& to, const DropCounts& d) {
  to.tokens += d.tokens;
  to.routing += d.routing;
  to.attention += d.attention;
  to.ops += d.ops;
  to.memory += d.memory;
}

}  // namespace moescope::storage
