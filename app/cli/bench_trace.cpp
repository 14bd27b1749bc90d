#include "app/cli/bench_trace.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include <unistd.h>

#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "app/cli/format.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/session/traced_run.h"
#include "inspectors/analysis/percentiles.h"
#include "storage/trace_writer.h"

namespace moescope::app {

namespace {

struct Mode {
  const char* name;
  bool traced;
  trace::CaptureSettings capture;
  std::string path = {};  // its trace file
  std::vector<double> prefill = {}, decode = {};
  int64_t tokens = 0;  // positions recorded over the repeats
  int64_t dropped = 0;
};

trace::CaptureSettings capture(bool routing_ops, bool attention) {
  trace::CaptureSettings c;
  c.routing = c.ops = routing_ops;
  c.attention = attention;
  // Untraced generation computes no prompt log-probabilities; neither do the traced modes, so
  // the difference is the instrument alone.
  c.prompt_logprobs = false;
  return c;
}

double median(std::vector<double> v) {
  return v.empty() ? 0 : inspectors::summarize(v).p50;
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  int64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto n = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += int64_t(n);
  }
  return total;
}

}  // namespace

int bench_trace_overhead(Args& args) {
  const std::string dir = args.value("model", default_model_dir());
  const int64_t P = args.integer("prompt-tokens", 64), G = args.integer("gen-tokens", 128);
  const int threads = thread_option(args);
  const int64_t repeat = args.integer("repeat", 3);
  const bool as_json = args.flag("json");
  args.done();
  if (P < 1 || G < 2 || repeat < 1)
    throw UsageError("--prompt-tokens must be >= 1, --gen-tokens >= 2, --repeat >= 1");

  LoadedModel m = load_model(dir, true);
  const ModelConfig& c = m.config;
  if (P + G - 1 > c.max_seq_len)
    fail("--prompt-tokens ", P, " + --gen-tokens ", G, " must fit the model's context of ",
         c.max_seq_len);
  Model model(c, m.weights, threads);
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(3, int32_t(m.tokenizer->vocab_size() - 1));
  std::vector<int32_t> prompt(static_cast<size_t>(P));
  for (auto& id : prompt) id = pick(rng);

  const std::string tmp =
      std::filesystem::temp_directory_path() / ("moescope-bench-trace-" + std::to_string(getpid()));
  std::filesystem::create_directories(tmp);
  std::vector<Mode> modes = {{"untraced", false, capture(false, false)},
                             {"tokens only", true, capture(false, false)},
                             {"routing + ops", true, capture(true, false)},
                             {"+ attention", true, capture(true, true)}};
  for (size_t i = 0; i < modes.size(); ++i)
    modes[i].path = tmp + "/mode" + std::to_string(i) + ".db";

  RunRequest request;
  request.prompt_ids = prompt;
  request.prompt = m.tokenizer->decode(prompt);
  request.generation.max_tokens = G;
  request.model_dir = dir;
  request.model_name = std::filesystem::path(dir).filename().string();
  {
    std::vector<std::unique_ptr<storage::TraceWriter>> writers;
    std::vector<std::unique_ptr<trace::Tracer>> tracers;
    for (Mode& mode : modes) {
      writers.push_back(mode.traced ? storage::TraceWriter::open(mode.path, {}) : nullptr);
      tracers.push_back(mode.traced
                            ? std::make_unique<trace::Tracer>(writers.back().get(), mode.capture)
                            : nullptr);
    }
    // One untimed generation warms the caches and the thread pool.
    {
      KvCache cache(c, P + G);
      generate(model, cache, prompt, request.generation,
               [](const GeneratedToken&) { return true; });
    }
    for (int64_t r = 0; r < repeat; ++r) {
      for (size_t i = 0; i < modes.size(); ++i) {
        Mode& mode = modes[i];
        GenerationStats st;
        if (mode.traced) {
          st = traced_generate(model, *m.tokenizer, request, *tracers[i]).stats;
          mode.tokens += st.prompt_tokens + st.generated_tokens;
          // The writer's backlog is drained before the next mode runs, so each mode pays only
          // for the writing done during its own generation.
          writers[i]->flush();
        } else {
          KvCache cache(c, P + G);
          st = generate(model, cache, prompt, request.generation,
                        [](const GeneratedToken&) { return true; });
        }
        mode.prefill.push_back(st.prefill_tokens_per_second());
        mode.decode.push_back(st.decode_tokens_per_second());
      }
    }
    for (size_t i = 0; i < modes.size(); ++i)
      if (writers[i]) {
        writers[i]->flush();
        modes[i].dropped = writers[i]->stats().dropped.total();
      }
  }  // writers closed: files complete

  const double base_pf = median(modes[0].prefill), base_dc = median(modes[0].decode);
  nlohmann::json j = {{"model", dir},    {"threads", threads}, {"prompt_tokens", P},
                      {"gen_tokens", G}, {"repeat", repeat},   {"modes", nlohmann::json::array()}};
  if (!as_json)
    std::printf("model %s, %d thread%s, prompt %lld + %lld generated tokens, median of %lld\n",
                dir.c_str(), threads, threads == 1 ? "" : "s", (long long)P, (long long)G,
                (long long)repeat);
  if (!as_json)
    std::printf("  %-14s %12s %8s %12s %8s %14s %8s\n", "mode", "prefill tok/s", "slower",
                "decode tok/s", "slower", "trace B/token", "dropped");
  for (const Mode& mode : modes) {
    const double pf = median(mode.prefill), dc = median(mode.decode);
    const double pf_slow = base_pf > 0 ? 100.0 * (base_pf / pf - 1) : 0;
    const double dc_slow = base_dc > 0 ? 100.0 * (base_dc / dc - 1) : 0;
    const double bytes_per_token =
        mode.traced && mode.tokens > 0 ? double(file_bytes(mode.path)) / double(mode.tokens) : 0;
    j["modes"].push_back({{"mode", mode.name},
                          {"prefill_tokens_per_s", pf},
                          {"decode_tokens_per_s", dc},
                          {"prefill_slowdown_percent", pf_slow},
                          {"decode_slowdown_percent", dc_slow},
                          {"trace_bytes_per_token", bytes_per_token},
                          {"dropped_events", mode.dropped}});
    if (!as_json)
      std::printf("  %-14s %12.1f %7.1f%% %12.1f %7.1f%% %14s %8lld\n", mode.name, pf, pf_slow, dc,
                  dc_slow, mode.traced ? with_commas(int64_t(bytes_per_token)).c_str() : "-",
                  (long long)mode.dropped);
  }
  if (as_json) std::printf("%s\n", j.dump(2).c_str());
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  return 0;
}

}  // namespace moescope::app
