// `moescope bench`: prefill and decode tokens/s of a model directory or a built-in synthetic
// preset (tinyA/B/C, random weights in f32, bf16 or int8 built in memory), each a median of
// --repeat runs with min and max; achieved decode bandwidth and prefill GFLOP/s against the
// machine's measured ceilings; time per token by op from a separate traced pass; peak RSS.
// With --ceilings, the machine's ceilings instead (bench_ceilings.h); with --trace-overhead, the
// cost of recording (bench_trace.h).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "app/cli/bench_breakdown.h"
#include "app/cli/bench_ceilings.h"
#include "app/cli/bench_trace.h"
#include "app/cli/bench_work.h"
#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "app/cli/format.h"
#include "engine/config/bench_presets.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/model/model.h"
#include "engine/weights/synthetic_weights.h"
#include "inspectors/analysis/ceilings.h"
#include "inspectors/analysis/percentiles.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"

namespace moescope::app {

namespace {

struct Stat {
  double median = 0, min = 0, max = 0;
};

Stat summarize(std::vector<double> v) {
  if (v.empty()) return {};
  const inspectors::Summary s = inspectors::summarize(v);  // the op statistics' percentiles
  return {s.p50, s.min, s.max};
}

nlohmann::json to_json(const Stat& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

int64_t peak_rss_bytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

// What is benchmarked: a model directory, or a preset with weights built in memory.
struct Subject {
  std::string label;  // "tinyA" or the directory
  std::string dtype;  // "bf16", or the stored dtype of a directory's output projection
  ModelConfig config;
  std::shared_ptr<const ModelWeights> weights;
};

kernels::DType parse_dtype(const std::string& s) {
  if (s == "f32") return kernels::DType::F32;
  if (s == "bf16") return kernels::DType::BF16;
  if (s == "int8") return kernels::DType::I8;
  throw UsageError("--dtype '" + s + "' is not a weight format (expected f32, bf16 or int8)");
}

// The machine's ceilings, when `moescope bench --ceilings` has stored them.
std::optional<inspectors::MachineCeilings> ceilings(const std::optional<std::string>& file) {
  std::string path;
  try {
    path = file ? *file : inspectors::default_ceilings_path();
  } catch (const Error&) {
    return std::nullopt;  // no HOME: nothing stored
  }
  return inspectors::load_ceilings(path);
}

// The ceilings for this thread count: the read bandwidth measured with one thread or with the
// ceilings' thread count, and the GEMM rate of the weights' kind (f32, or the bf16 rate for the
// 16- and 8-bit weights, which take the same path where the CPU has AMX, or the bf16 dot-product
// rate under --activations bf16, or the int8 one for int8 weights under --activations int8)
// scaled linearly by threads (compute-bound).
struct Peaks {
  double read_gbps = 0, gemm_gflops = 0;
  const char* gemm_kind = "";
  std::string note;
};

Peaks peaks_for(const inspectors::MachineCeilings& c, int threads, const std::string& dtype) {
  Peaks p;
  p.read_gbps = threads == 1 ? c.read_gbps_one_thread : c.read_gbps;
  const bool f32 = dtype == "f32" || dtype == "F32";
  const bool int8 = dtype == "int8" || dtype == "I8";
  const bool bf16 = !f32 && c.gemm_bf16_gflops > 0;
  const bool bf16_dot = bf16 && kernels::bf16_activations_effective() && c.gemm_bf16_dot_gflops > 0;
  const bool int8_dot = int8 && kernels::int8_activations_effective() && c.gemm_int8_dot_gflops > 0;
  p.gemm_kind = int8_dot ? "int8-dot " : bf16_dot ? "bf16-dot " : bf16 ? "bf16 " : "";
  p.gemm_gflops = (int8_dot   ? c.gemm_int8_dot_gflops
                   : bf16_dot ? c.gemm_bf16_dot_gflops
                   : bf16     ? c.gemm_bf16_gflops
                              : c.gemm_gflops) *
                  double(threads) / double(std::max(1, c.threads));
  if (threads != 1 && threads != c.threads)
    p.note = cat("ceilings measured with ", c.threads, " threads");
  return p;
}

nlohmann::json breakdown_json(const PhaseBreakdown& b) {
  const double per = 1e3 * double(std::max<int64_t>(1, b.tokens));  // ns -> us per token
  nlohmann::json ops = nlohmann::json::array();
  for (const OpShare& o : b.ops)
    ops.push_back({{"op", o.name},
                   {"kind", o.kind},
                   {"calls_per_token", double(o.calls) / double(std::max<int64_t>(1, b.tokens))},
                   {"us_per_token", o.ns / per},
                   {"share", b.op_ns() > 0 ? o.ns / b.op_ns() : 0.0}});
  return {{"tokens", b.tokens},
          {"wall_us_per_token", b.wall_ns / per},
          {"op_us_per_token", b.op_ns() / per},
          {"ops", ops}};
}

void print_breakdown(const char* phase, const PhaseBreakdown& b, int top) {
  const double per = 1e3 * double(std::max<int64_t>(1, b.tokens));
  std::printf("  %s time per token by op (separate traced pass): %.1f us wall, %.1f us in ops\n",
              phase, b.wall_ns / per, b.op_ns() / per);
  int shown = 0;
  for (const OpShare& o : b.ops) {
    if (shown++ == top) break;
    std::printf("    %-24s %-11s %9.2f us %6.1f%%\n", o.name.c_str(), o.kind.c_str(), o.ns / per,
                100.0 * o.ns / b.op_ns());
  }
}

}  // namespace

int cmd_bench(Args& args) {
  isa_option(args);
  if (args.flag("ceilings")) return bench_ceilings(args);
  if (args.flag("trace-overhead")) return bench_trace_overhead(args);
  const std::optional<std::string> preset = args.value("preset");
  const std::optional<std::string> model_dir = args.value("model");
  const std::optional<std::string> dtype_name = args.value("dtype");
  const int64_t groups = args.integer("int8-groups", 1);
  const int64_t seed = args.integer("seed", 1);
  const int64_t P = args.integer("prompt-tokens", 512), G = args.integer("gen-tokens", 128);
  const int threads = thread_option(args);
  activations_option(args);
  const int64_t repeat = args.integer("repeat", 3);
  const bool as_json = args.flag("json");
  const bool no_breakdown = args.flag("no-breakdown");
  const int64_t top = args.integer("top", 8);
  const std::optional<std::string> ceilings_file = args.value("ceilings-file");
  const bool measure_read = args.flag("measure-read");
  const int64_t array_mb = args.integer("array-mb", 512);
  args.done();
  if (array_mb < 16) throw UsageError("--array-mb must be >= 16");
  if (P < 1 || G < 0 || repeat < 1)
    throw UsageError("--prompt-tokens must be >= 1, --gen-tokens >= 0, --repeat >= 1");
  if (preset && model_dir) throw UsageError("--preset and --model exclude each other");
  if (dtype_name && !preset) throw UsageError("--dtype applies to --preset (synthetic weights)");
  if (groups < 1) throw UsageError("--int8-groups must be >= 1");

  Subject s;
  if (preset) {
    const std::vector<std::string> names = bench_preset_names();
    if (std::find(names.begin(), names.end(), *preset) == names.end())
      throw UsageError("--preset '" + *preset + "' is not a bench preset (expected tinyA, tinyB " +
                       "or tinyC)");
    SyntheticWeightOptions o;
    o.dtype = parse_dtype(dtype_name.value_or("f32"));
    o.int8_groups = groups;
    o.seed = uint64_t(seed);
    o.pack_for_cpu = true;  // the layout the Model would copy them into, without the copy
    s.label = *preset;
    s.dtype = dtype_name.value_or("f32");
    s.config = bench_preset_config(*preset);
    for (int64_t k : {s.config.d_model, s.config.n_heads * s.config.head_dim, s.config.expert_ffn})
      if (o.dtype == kernels::DType::I8 && k % groups != 0)
        throw UsageError(cat("--int8-groups ", groups, " must divide every matrix's input ",
                             "features (", *preset, " has ", k, ")"));
    s.weights = synthetic_weights(s.config, o);
  } else {
    LoadedModel m = load_model(model_dir.value_or(default_model_dir()), false);
    s.label = m.dir;
    s.config = m.config;
    s.weights = m.weights;
    s.dtype = kernels::dtype_name(m.weights->lm_head.dtype);
  }
  const ModelConfig& c = s.config;
  if (P > c.max_seq_len || G > c.max_seq_len)
    fail("--prompt-tokens ", P, " and --gen-tokens ", G, " must each fit the model's context of ",
         c.max_seq_len);
  Model model(c, s.weights, threads);

  // Random ids past the special tokens: throughput does not depend on the text.
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(3, int32_t(c.vocab_size - 1));
  std::vector<int32_t> prompt(static_cast<size_t>(P));
  for (auto& id : prompt) id = pick(rng);

  std::vector<float> logits(size_t(c.vocab_size));
  std::vector<double> prefill, decode;
  using clock = std::chrono::steady_clock;
  // As llama-bench's pp/tg: prefill of P tokens into an empty cache, and G single-token decode
  // steps starting from an empty cache.
  for (int64_t r = 0; r < repeat; ++r) {
    {
      KvCache cache(c, P);
      auto t0 = clock::now();
      model.forward(prompt, cache, logits.data(), false);
      prefill.push_back(double(P) / std::chrono::duration<double>(clock::now() - t0).count());
    }
    if (G > 0) {
      KvCache cache(c, G);
      int32_t next = prompt[0];
      auto t1 = clock::now();
      for (int64_t g = 0; g < G; ++g) {
        model.forward(std::span<const int32_t>(&next, 1), cache, logits.data(), false);
        next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      }
      decode.push_back(double(G) / std::chrono::duration<double>(clock::now() - t1).count());
    }
  }
  std::optional<PhaseBreakdown> bd_prefill, bd_decode;
  if (!no_breakdown) {
    bd_prefill = breakdown_prefill(model, prompt);
    if (G > 0) bd_decode = breakdown_decode(model, prompt[0], G);
  }

  const Stat pf = summarize(prefill), dc = summarize(decode);
  const int64_t bytes_per_token = decode_weight_bytes(c, *s.weights);
  const double flops_per_token = double(prefill_flops(c, *s.weights, P)) / double(P);
  const double achieved_gbps = double(bytes_per_token) * dc.median / 1e9;
  const double achieved_gflops = flops_per_token * pf.median / 1e9;
  const auto ceil = ceilings(ceilings_file);
  const std::optional<Peaks> peak =
      ceil ? std::optional<Peaks>(peaks_for(*ceil, threads, s.dtype)) : std::nullopt;
  const int64_t rss = peak_rss_bytes();  // before the read probe's array
  const int64_t weight_bytes = int64_t(s.weights->matrix_bytes + s.weights->owned_bytes);
  // The read bandwidth of these minutes, with this run's threads (0: not measured).
  const double read_now = measure_read && G > 0 ? measure_read_gbps(threads, array_mb) : 0.0;

  if (as_json) {
    nlohmann::json prefill_j = {{"tokens_per_s", to_json(pf)},
                                {"flops_per_token", flops_per_token},
                                {"gflops", achieved_gflops}};
    nlohmann::json decode_j = {{"tokens_per_s", to_json(dc)},
                               {"weight_bytes_per_token", bytes_per_token},
                               {"achieved_gbps", achieved_gbps}};
    if (peak) {
      prefill_j["gemm_peak_gflops"] = peak->gemm_gflops;
      prefill_j["fraction_of_peak"] = achieved_gflops / peak->gemm_gflops;
      decode_j["read_gbps"] = peak->read_gbps;
      decode_j["fraction_of_read"] = achieved_gbps / peak->read_gbps;
    }
    if (read_now > 0) {
      decode_j["read_gbps_after"] = read_now;
      decode_j["fraction_of_read_after"] = achieved_gbps / read_now;
    }
    nlohmann::json j = {{"model", s.label},
                        {"preset", preset.has_value()},
                        {"dtype", s.dtype},
                        {"threads", threads},
                        {"isa", kernels::isa_name(kernels::active_isa())},
                        {"cpu_isa", kernels::isa_name(kernels::detected_isa())},
                        {"activations", kernels::effective_activations_name()},
                        {"prompt_tokens", P},
                        {"gen_tokens", G},
                        {"repeat", repeat},
                        {"prefill", prefill_j},
                        {"decode", decode_j},
                        {"prefill_tokens_per_s", pf.median},
                        {"decode_tokens_per_s", dc.median},
                        {"weight_bytes", weight_bytes},
                        {"peak_rss_bytes", rss},
                        {"ceilings_measured", peak.has_value()}};
    if (bd_prefill || bd_decode) {
      j["breakdown"] = nlohmann::json::object();
      if (bd_prefill) j["breakdown"]["prefill"] = breakdown_json(*bd_prefill);
      if (bd_decode) j["breakdown"]["decode"] = breakdown_json(*bd_decode);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s, %s weights%s, %d thread%s, median [min-max] of %lld\n", s.label.c_str(),
              s.dtype.c_str(), preset ? " (synthetic)" : "", threads, threads == 1 ? "" : "s",
              (long long)repeat);
  std::printf("  kernels: %s\n", isa_description().c_str());
  std::printf("  activations: %s\n", activations_description().c_str());
  std::printf("  prefill %lld tokens: %10.1f tok/s [%.1f-%.1f]  %.1f GFLOP/s", (long long)P,
              pf.median, pf.min, pf.max, achieved_gflops);
  if (peak)
    std::printf(" = %.0f%% of the %sGEMM ceiling %.1f", 100 * achieved_gflops / peak->gemm_gflops,
                peak->gemm_kind, peak->gemm_gflops);
  std::printf("\n");
  if (G > 0) {
    std::printf("  decode  %lld tokens: %10.1f tok/s [%.1f-%.1f] (from an empty cache)\n",
                (long long)G, dc.median, dc.min, dc.max);
    std::printf("  decode weights read: %s per token -> %.2f GB/s",
                decimal_bytes(bytes_per_token).c_str(), achieved_gbps);
    if (peak)
      std::printf(" = %.0f%% of the measured read bandwidth %.1f GB/s",
                  100 * achieved_gbps / peak->read_gbps, peak->read_gbps);
    std::printf("\n");
    if (read_now > 0)
      std::printf(
          "  read bandwidth measured just after, %d thread%s: %.1f GB/s -> decode at %.0f%%\n",
          threads, threads == 1 ? "" : "s", read_now, 100 * achieved_gbps / read_now);
  }
  if (!peak)
    std::printf("  (no ceilings stored: run moescope bench --ceilings)\n");
  else if (!peak->note.empty())
    std::printf("  (%s)\n", peak->note.c_str());
  std::printf("  weights            %s\n", binary_bytes(weight_bytes).c_str());
  std::printf("  peak RSS           %s\n", binary_bytes(rss).c_str());
  if (bd_decode) print_breakdown("decode", *bd_decode, int(top));
  if (bd_prefill) print_breakdown("prefill", *bd_prefill, int(top));
  return 0;
}

}  // namespace moescope::app
