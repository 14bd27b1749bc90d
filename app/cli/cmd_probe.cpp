// `moescope probe induction`: the repeated-random-tokens induction test (TransformerLens Main
// Demo / ARENA; tooling-conventions.md section 6). Runs [r_1 .. r_N, r_1 .. r_N] through the
// model in one forward call with every layer's and head's attention captured into an in-memory
// TraceModel (and a trace file with --trace), then ranks the heads by the induction score the
// analyses compute from the captured maps (inspectors/analysis/attention_metrics.h): for each
// head, the mean over second-half positions t of A[t, t - N + 1]. Our models have no BOS
// token, so the sequence starts with r_1.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "engine/config/config_json.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/model/model.h"
#include "engine/session/machine_info.h"
#include "engine/trace/clock.h"
#include "engine/trace/tracer.h"
#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/analysis/induction_probe.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"

namespace moescope::app {

namespace {

// Every layer and head, the whole 2N x 2N map of each, nothing else but routing.
trace::CaptureSettings probe_capture(const ModelConfig& c, int64_t positions) {
  trace::CaptureSettings s;
  s.routing = true;
  s.ops = false;
  s.attention = true;
  s.prompt_logprobs = false;
  s.attention_prompt_max_cells = positions * positions;
  s.attention_budget_bytes = c.n_layers * c.n_heads * positions * positions * 2;  // f16
  return s;
}

trace::RunInfo probe_info(const std::string& dir, const ModelConfig& c, int64_t n, uint64_t seed,
                          int threads, const trace::CaptureSettings& capture) {
  trace::RunInfo info;
  info.model_dir = std::filesystem::absolute(dir).lexically_normal().string();
  info.model = std::filesystem::path(info.model_dir).filename().string();
  info.config_json = config_to_json(c);
  info.prompt = "induction probe: " + std::to_string(n) + " random tokens, repeated (seed " +
                std::to_string(seed) + ")";
  info.sampling_json = "{}";
  info.capture_json =
      nlohmann::json({{"attention", true},
                      {"attention_prompt_max_cells", capture.attention_prompt_max_cells},
                      {"attention_budget_bytes", capture.attention_budget_bytes},
                      {"routing", true},
                      {"ops", false}})
          .dump();
  info.machine_json = machine_json(threads);
  info.devices_json = R"(["cpu"])";
  info.layout_json = "{}";
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

// Runs the sequence under tracer as one prefill and closes the run.
void run_probe(Model& model, const std::vector<int32_t>& ids, trace::Tracer& tracer,
               const trace::RunInfo& info) {
  tracer.begin_run(info);
  for (size_t p = 0; p < ids.size(); ++p) {
    trace::TokenEvent e;
    e.position = int64_t(p);
    e.id = ids[p];
    e.logprob = std::nanf("");
    e.time_ns = trace::now_ns();
    e.text = "#" + std::to_string(ids[p]);
    tracer.token(e);
  }
  KvCache cache(model.config(), int64_t(ids.size()));
  std::vector<float> logits(size_t(model.config().vocab_size));
  tracer.set_step(0);
  model.forward(ids, cache, logits.data(), false, &tracer);
  tracer.end_run(trace::RunStatus::Complete);
}

}  // namespace

int cmd_probe(Args& args) {
  const std::string dir = args.value("model", default_model_dir());
  const int64_t n = args.integer("length", 50);
  const uint64_t seed = uint64_t(args.integer("seed", 1));
  const auto trace_path = args.value("trace");
  const int64_t top = args.integer("top", 20);
  const int threads = thread_option(args);
  const bool as_json = args.flag("json");
  const std::vector<std::string> what = args.positionals();
  if (what.size() != 1 || what[0] != "induction")
    throw UsageError("expected the probe to run: `moescope probe induction`");
  if (n < 1) throw UsageError("--length must be >= 1");

  LoadedModel m = load_model(dir, false);
  const ModelConfig& c = m.config;
  if (2 * n > c.max_seq_len)
    fail("--length ", n, " needs ", 2 * n, " positions, more than the model's context of ",
         c.max_seq_len, " (max_position_embeddings in ", dir, ")");
  // Ids past the special tokens (pad, BOS, EOS), so the sequence is ordinary vocabulary.
  const int32_t lo = std::max({c.pad_id, c.bos_id, c.eos_id}) + 1;
  const std::vector<int32_t> ids =
      inspectors::repeated_random_tokens(n, lo, int32_t(c.vocab_size), seed);
  Model model(c, m.weights, threads);

  storage::TraceModel memory;
  const trace::CaptureSettings capture = probe_capture(c, 2 * n);
  const trace::RunInfo info = probe_info(dir, c, n, seed, threads, capture);
  int64_t run_id = 0;
  if (trace_path) {
    storage::WriterOptions wo;
    wo.model = &memory;  // the writer feeds the in-memory run with the events it stores
    auto writer = storage::TraceWriter::open(*trace_path, wo);
    trace::Tracer tracer(writer.get(), capture);
    run_probe(model, ids, tracer, info);
    run_id = tracer.run();
    writer->flush();
    if (!writer->error().empty()) fail(*trace_path, ": ", writer->error());
  } else {
    trace::Tracer tracer(&memory, capture);
    run_probe(model, ids, tracer, info);
    run_id = tracer.run();
  }

  std::vector<inspectors::HeadMetrics> heads;
  storage::DropCounts drops;
  memory.read(run_id, [&](const storage::RunData& run) {
    heads = inspectors::head_metrics(run);
    drops = run.drops;
  });
  if (drops.attention > 0 || heads.size() != size_t(c.n_layers * c.n_heads))
    fail("the probe captured attention for ", heads.size(), " of ", c.n_layers * c.n_heads,
         " heads (", drops.attention, " attention events dropped)");
  const auto order = inspectors::rank_heads(heads, inspectors::HeadMetric::Induction);
  const size_t shown = top > 0 ? std::min(order.size(), size_t(top)) : order.size();
  // What a head spreading its attention evenly over the keys would score.
  double uniform = 0;
  for (int64_t t = n; t < 2 * n; ++t) uniform += 1.0 / double(t + 1);
  uniform /= double(n);

  if (as_json) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < shown; ++i) {
      const auto& h = heads[order[i]];
      list.push_back({{"layer", h.layer},
                      {"head", h.head},
                      {"kv_head", h.kv_head},
                      {"induction", h.induction},
                      {"previous", h.previous},
                      {"duplicate", h.duplicate},
                      {"rows", h.induction_rows}});
    }
    nlohmann::json j = {{"model", dir},
                        {"length", n},
                        {"seed", seed},
                        {"tokens", ids},
                        {"run", run_id},
                        {"trace", trace_path ? *trace_path : ""},
                        {"uniform_baseline", uniform},
                        {"heads", list}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("induction probe: %lld random tokens repeated once (seed %llu), %s, %lld heads\n",
              (long long)n, (unsigned long long)seed, dir.c_str(), (long long)heads.size());
  std::printf(
      "score = mean over second-half positions t of A[t, t-%lld]; uniform attention "
      "scores %.4f\n",
      (long long)(n - 1), uniform);
  std::printf("rank layer head kv  induction  previous  duplicate\n");
  for (size_t i = 0; i < shown; ++i) {
    const auto& h = heads[order[i]];
    std::printf("%4zu %5d %4d %2d %10.6f %9.6f %10.6f\n", i + 1, h.layer, h.head, h.kv_head,
                h.induction, h.previous, h.duplicate);
  }
  if (trace_path)
    std::printf("recorded as run %lld in %s\n", (long long)run_id, trace_path->c_str());
  return 0;
}

}  // namespace moescope::app
