// `moescope eval`: mean next-token loss and perplexity over a text file, and optionally the logits
// of every position as JSON for cross-checks against other implementations.
#include <cmath>
#include <cstdio>
#include <vector>

#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "app/cli/format.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/model/model.h"
#include "engine/sample/sampler.h"

namespace moescope::app {

namespace {

// Writes {"model", "vocab_size", "tokens", "logits": [[V floats] per position]} incrementally:
// the file can be large, so rows go out as they are computed. Finished by rename, so an
// interrupted run leaves no partial file under the final name.
class LogitsDump {
 public:
  LogitsDump(const std::string& path, const std::string& model, int64_t vocab,
             const std::vector<int32_t>& tokens)
      : path_(path), tmp_(path + ".tmp") {
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) fail(path, ": cannot write the logits dump");
    std::fprintf(f_, "{\"model\": \"%s\", \"vocab_size\": %lld, \"tokens\": [", model.c_str(),
                 (long long)vocab);
    for (size_t i = 0; i < tokens.size(); ++i) std::fprintf(f_, "%s%d", i ? ", " : "", tokens[i]);
    std::fprintf(f_, "],\n\"logits\": [\n");
  }
  ~LogitsDump() {
    if (f_) std::fclose(f_), std::remove(tmp_.c_str());
  }
  void row(const float* logits, int64_t vocab) {
    std::fprintf(f_, "%s[", rows_++ ? ",\n" : "");
    for (int64_t v = 0; v < vocab; ++v) std::fprintf(f_, "%s%.9g", v ? ", " : "", logits[v]);
    std::fprintf(f_, "]");
  }
  void finish() {
    std::fprintf(f_, "\n]}\n");
    bool ok = std::ferror(f_) == 0;
    ok &= std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0)
      fail(path_, ": writing the logits dump failed");
  }

 private:
  std::string path_, tmp_;
  FILE* f_ = nullptr;
  int64_t rows_ = 0;
};

}  // namespace

int cmd_eval(Args& args) {
  const std::string dir = args.value("model", default_model_dir());
  const std::string tokenizer = args.value("tokenizer", "");  // default: the model's
  auto text_file = args.value("text-file");
  auto dump_path = args.value("dump-logits");
  const int64_t max_tokens = args.integer("max-tokens", 0);
  const int threads = thread_option(args);
  activations_option(args);
  args.done();
  if (!text_file) throw UsageError("missing --text-file FILE");
  if (max_tokens < 0) throw UsageError("--max-tokens must be >= 0");

  LoadedModel m = load_model(dir, true, tokenizer);
  std::vector<int32_t> tokens = m.tokenizer->encode(read_text_file(*text_file));
  if (max_tokens > 0 && int64_t(tokens.size()) > max_tokens) tokens.resize(size_t(max_tokens));
  if (tokens.size() < 2)
    fail(*text_file, ": needs at least 2 tokens to score, has ", tokens.size());

  const int64_t V = m.config.vocab_size, C = m.config.max_seq_len, N = int64_t(tokens.size());
  Model model(m.config, m.weights, threads);
  std::unique_ptr<LogitsDump> dump;
  if (dump_path) dump = std::make_unique<LogitsDump>(*dump_path, dir, V, tokens);

  // Windows of the model's context, overlapping by one token so that every token after the
  // first is predicted exactly once; each window starts from an empty cache.
  double nll = 0;
  int64_t scored = 0, windows = 0;
  std::vector<float> logits;
  for (int64_t start = 0; start < N - 1; start += C - 1) {
    const int64_t len = std::min(C, N - start);
    KvCache cache(m.config, len);
    logits.resize(size_t(len * V));
    model.forward(std::span<const int32_t>(tokens.data() + start, size_t(len)), cache,
                  logits.data(), true);
    ++windows;
    for (int64_t i = 0; i < len; ++i) {
      const float* row = logits.data() + i * V;
      // Positions already dumped by the previous window (its last row) are not repeated.
      if (dump && (start == 0 || i > 0)) dump->row(row, V);
      if (i + 1 < len) {
        nll -= describe_choice(row, V, tokens[size_t(start + i + 1)]).logprob;
        ++scored;
      }
    }
    if (start + len >= N) break;
  }
  if (dump) dump->finish();
  const double loss = nll / double(scored);
  std::printf(
      "model       %s\ntext        %s\ntokens      %lld (%lld scored, %lld window%s of %lld)\n"
      "loss        %.6f nats/token\nperplexity  %.4f\n",
      dir.c_str(), text_file->c_str(), (long long)N, (long long)scored, (long long)windows,
      windows == 1 ? "" : "s", (long long)C, loss, std::exp(loss));
  if (dump_path)
    std::printf("logits      %s (%lld x %lld)\n", dump_path->c_str(), (long long)N, (long long)V);
  return 0;
}

}  // namespace moescope::app
