// `moescope run`: generate like `generate`, and record the run (tokens, routing, ops, budgeted
// attention maps) into a SQLite trace file that `runs`, `report`, `export` and the GUI read.
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "app/cli/capture_options.h"
#include "app/cli/command_list.h"
#include "app/cli/common_options.h"
#include "app/cli/format.h"
#include "app/cli/sharding_options.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/session/traced_run.h"
#include "storage/trace_writer.h"

namespace moescope::app {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_interrupt(int) {
  g_stop.store(true);
}

}  // namespace

int cmd_run(Args& args) {
  const std::string dir = args.value("model", default_model_dir());
  auto prompt = args.value("prompt");
  auto prompt_file = args.value("prompt-file");
  auto trace_path = args.value("trace");
  GenerationOptions opt;
  opt.max_tokens = args.integer("max-tokens", 64);
  opt.sampling = sampling_options(args);
  opt.stop_at_eos = args.flag("stop-at-eos");
  const int threads = thread_option(args);
  activations_option(args);
  const trace::CaptureSettings capture = capture_options(args);
  const bool quiet = args.flag("quiet");
  parallel::ParallelLayout layout = sharding_options(args);
  args.done();
  if (!trace_path) throw UsageError("missing --trace FILE.db");
  if (prompt && prompt_file) throw UsageError("give either --prompt or --prompt-file, not both");
  if (!prompt && !prompt_file) throw UsageError("missing --prompt TEXT");
  if (opt.max_tokens < 0) throw UsageError("--max-tokens must be >= 0");
  opt.sampling.validate();
  const std::string text = prompt ? *prompt : read_text_file(*prompt_file);

  LoadedModel m = load_model(dir, true);
  parallel::validate_layout(m.config, layout);  // before the trace file is touched
  const std::vector<int32_t> ids = m.tokenizer->encode(text);
  std::unique_ptr<Decoder> model = make_decoder(
      m, layout, threads, traced_run_capacity(m.config, int64_t(ids.size()), opt.max_tokens));
  auto writer = storage::TraceWriter::open(*trace_path, {});
  trace::Tracer tracer(writer.get(), capture);

  RunRequest request;
  request.prompt = text;
  request.prompt_ids = ids;
  request.generation = opt;
  request.model_dir = std::filesystem::absolute(dir).lexically_normal().string();
  request.model_name = std::filesystem::path(request.model_dir).filename().string();

  // Ctrl-C ends the run cleanly (complete, with the tokens so far) instead of killing it.
  g_stop = false;
  auto previous = std::signal(SIGINT, on_interrupt);
  TextStream stream(*m.tokenizer, ids);
  if (!quiet) std::fputs(text.c_str(), stdout);
  RunOutcome out = traced_generate(
      *model, *m.tokenizer, request, tracer,
      [&](const trace::TokenEvent& e) {
        if (!quiet && e.phase == trace::TokenPhase::Generated) {
          std::fputs(stream.push(e.id).c_str(), stdout);
          std::fflush(stdout);
        }
        return true;
      },
      &g_stop);
  std::signal(SIGINT, previous);
  if (!quiet) std::printf("%s\n", stream.flush().c_str());
  writer->flush();

  const storage::WriterStats ws = writer->stats();
  std::fprintf(
      stderr,
      "[run %lld recorded in %s: %zu prompt + %zu generated tokens, %lld routing "
      "records, %lld events, %lld dropped; prefill %s tok/s, decode %s tok/s%s]\n",
      (long long)out.run_id, trace_path->c_str(), out.prompt_ids.size(), out.generated_ids.size(),
      (long long)ws.routing_records, (long long)ws.events_written, (long long)ws.dropped.total(),
      fixed(out.stats.prefill_tokens_per_second(), 1).c_str(),
      fixed(out.stats.decode_tokens_per_second(), 1).c_str(), g_stop ? "; stopped by Ctrl-C" : "");
  if (!writer->error().empty())
    std::fprintf(stderr,
                 "moescope: warning: %s (generation went on; events after it were not recorded)\n",
                 writer->error().c_str());
  return 0;
}

}  // namespace moescope::app
