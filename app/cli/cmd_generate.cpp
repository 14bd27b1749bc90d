// `moescope generate`: prompt in, tokens streamed to stdout as they are produced.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "app/cli/format.h"
#include "app/cli/sharding_options.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/session/generate.h"

namespace moescope::app {

int cmd_generate(Args& args) {
  const std::string dir = args.value("model", default_model_dir());
  const std::string tokenizer = args.value("tokenizer", "");  // default: the model's
  auto prompt = args.value("prompt");
  auto prompt_file = args.value("prompt-file");
  GenerationOptions opt;
  opt.max_tokens = args.integer("max-tokens", 64);
  opt.sampling = sampling_options(args);
  opt.stop_at_eos = args.flag("stop-at-eos");
  const int threads = thread_option(args);
  activations_option(args);
  parallel::ParallelLayout layout = sharding_options(args);
  args.done();
  if (prompt && prompt_file) throw UsageError("give either --prompt or --prompt-file, not both");
  if (!prompt && !prompt_file) throw UsageError("missing --prompt TEXT");
  std::string text = prompt ? *prompt : read_text_file(*prompt_file);
  if (opt.max_tokens < 0) throw UsageError("--max-tokens must be >= 0");
  opt.sampling.validate();

  LoadedModel m = load_model(dir, true, tokenizer);
  parallel::validate_layout(m.config, layout);  // before the prompt is processed
  std::vector<int32_t> ids = m.tokenizer->encode(text);
  if (ids.empty()) fail("the prompt encodes to no tokens (expected some text)");
  const int64_t needed = int64_t(ids.size()) + std::max<int64_t>(opt.max_tokens - 1, 0);
  if (needed > m.config.max_seq_len)
    fail("the prompt is ", ids.size(), " tokens; with --max-tokens ", opt.max_tokens, " it needs ",
         needed, " positions, more than the model's context of ", m.config.max_seq_len,
         " (max_position_embeddings in ", m.config.name, ")");

  std::unique_ptr<Decoder> model = make_decoder(m, layout, threads, needed);
  TextStream stream(*m.tokenizer, ids);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  GenerationStats stats = generate(*model, ids, opt, [&](const GeneratedToken& t) {
    std::string piece = stream.push(t.choice.id);
    if (!piece.empty()) {
      std::fputs(piece.c_str(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  std::fputs(stream.flush().c_str(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  std::fprintf(
      stderr,
      "[%s: prompt %lld tokens, prefill %s tok/s; generated %lld tokens, decode %s "
      "tok/s; %d threads%s%s]\n",
      m.dir.c_str(), (long long)stats.prompt_tokens,
      fixed(stats.prefill_tokens_per_second(), 1).c_str(), (long long)stats.generated_tokens,
      fixed(stats.decode_tokens_per_second(), 1).c_str(), model->threads(),
      layout.world() > 1
          ? cat(" on ", layout.world(), " CPU ranks (tp ", layout.tp, " x ep ", layout.ep, ")")
                .c_str()
          : "",
      stats.stopped_at_eos ? ", stopped at EOS" : "");
  return 0;
}

}  // namespace moescope::app
