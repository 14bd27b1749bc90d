// `moescope bench`: prefill and decode tokens/s on a random prompt, and peak resident memory;
// with --ceilings, the machine's ceilings instead (bench_ceilings.h).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "app/cli/bench_ceilings.h"
#include "app/cli/bench_trace.h"
#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "app/cli/format.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/model/model.h"

namespace moescope::app {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int64_t peak_rss_bytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace

int cmd_bench(Args& args) {
  if (args.flag("ceilings")) return bench_ceilings(args);
  if (args.flag("trace-overhead")) return bench_trace_overhead(args);
  const std::string dir = args.value("model", default_model_dir());
  const int64_t P = args.integer("prompt-tokens", 512), G = args.integer("gen-tokens", 128);
  const int threads = thread_option(args);
  const int64_t repeat = args.integer("repeat", 3);
  const bool as_json = args.flag("json");
  args.done();
  if (P < 1 || G < 0 || repeat < 1)
    throw UsageError("--prompt-tokens must be >= 1, --gen-tokens >= 0, --repeat >= 1");

  LoadedModel m = load_model(dir, false);
  const ModelConfig& c = m.config;
  if (P > c.max_seq_len || G > c.max_seq_len)
    fail("--prompt-tokens ", P, " and --gen-tokens ", G, " must each fit the model's context of ",
         c.max_seq_len);
  Model model(c, m.weights, threads);

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
  const double pf = median(prefill), dc = G > 0 ? median(decode) : 0;
  const int64_t rss = peak_rss_bytes();
  if (as_json) {
    nlohmann::json j = {{"model", dir},
                        {"threads", threads},
                        {"prompt_tokens", P},
                        {"gen_tokens", G},
                        {"repeat", repeat},
                        {"prefill_tokens_per_s", pf},
                        {"decode_tokens_per_s", dc},
                        {"peak_rss_bytes", rss}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("model %s, %d thread%s, median of %lld\n", dir.c_str(), threads,
                threads == 1 ? "" : "s", (long long)repeat);
    std::printf("  prefill %lld tokens: %10.1f tok/s\n", (long long)P, pf);
    std::printf("  decode  %lld tokens: %10.1f tok/s (from an empty cache)\n", (long long)G, dc);
    std::printf("  peak RSS           %s\n", binary_bytes(rss).c_str());
  }
  return 0;
}

}  // namespace moescope::app
