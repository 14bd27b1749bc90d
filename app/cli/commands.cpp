#include "app/cli/commands.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "app/cli/command_list.h"
#include "engine/core/error.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"

namespace moescope::app {

namespace {

const Command kCommands[] = {
    {"info", "print parameter counts, weight and KV-cache sizes of a model or preset",
     "  --preset NAME      a built-in full-size preset: grok-1, grok-2\n"
     "  --model DIR        a model directory (config.json + weights)\n"
     "  --json             machine-readable output\n"
     "  --load             load the weights and report the memory they use (mapped, owned,\n"
     "                     bf16-expanded) and the RSS after loading\n"
     "  --tp N --ep M      the per-GPU memory plan of N-way tensor x M-way expert parallelism\n"
     "  --dtype D          weights for the plan: bf16 (default), int8, fp8, f32\n"
     "  --expert-placement 0,0,1,1,...  the expert group of each expert (default contiguous)\n"
     "  --gpu-memory-gb G  memory per GPU for the plan (default 80)\n",
     cmd_info},
    {"tokenize", "turn text into token ids, or ids into text",
     "  TEXT               the text (or, with --decode, the ids)\n"
     "  --tokenizer FILE   a SentencePiece tokenizer.model or tiktoken-style tokenizer.tok.json\n"
     "                     (default: the model's)\n"
     "  --model DIR        take the tokenizer of this model directory\n"
     "  --decode           decode ids (space or comma separated) to text\n"
     "  --pieces           also print each token's piece\n",
     cmd_tokenize},
    {"generate", "generate text from a prompt, streaming tokens to stdout",
     "  --model DIR        model directory (default: the embedded default model)\n"
     "  --tokenizer FILE   the tokenizer (default: the model's; ckpt-0 ships none)\n"
     "  --prompt TEXT      the prompt (or --prompt-file FILE)\n"
     "  --max-tokens N     tokens to generate (default 64)\n"
     "  --temperature T    0 = greedy (default 0)\n"
     "  --top-k K          keep the K most likely tokens (default 0 = off)\n"
     "  --top-p P          nucleus sampling threshold (default 1 = off)\n"
     "  --seed S           random seed (default 42)\n"
     "  --stop-at-eos      stop when the model produces EOS\n"
     "  --threads N        CPU threads (default: all cores)\n"
     "  --activations A    f32 (default), bf16 or int8: bf16 rounds x to bf16 in the prefill\n"
     "                     matmuls of bf16 and int8 weights (AVX512-BF16); int8 quantises x to\n"
     "                     int8 blocks in the matmuls of int8 weights (AVX512-VNNI) and rounds\n"
     "                     it to bf16 in the prefill of bf16 weights; see kernels/cpu/precision.h\n"
     "  --tp N --ep M      split the model over N x M CPU ranks: tensor parallelism within M\n"
     "                     expert groups (routed tokens exchanged by all-to-all); same output\n"
     "  --expert-placement 0,0,1,1,...  the expert group of each expert (default contiguous)\n",
     cmd_generate},
    {"run", "generate and record the run (routing, attention, op timings) into a trace file",
     "  --trace FILE.db    the SQLite trace file (created or appended to)\n"
     "  --model DIR, --prompt TEXT | --prompt-file FILE, --max-tokens N, --temperature T,\n"
     "  --top-k K, --top-p P, --seed S, --stop-at-eos, --threads N   as for generate\n"
     "  --activations A    f32 (default), bf16 or int8, as for generate\n"
     "  --tp N --ep M, --expert-placement LIST   split over CPU ranks, as for generate\n"
     "  --no-routing       do not record router decisions\n"
     "  --no-ops           do not record op timings\n"
     "  --no-prompt-logprobs  skip the prompt tokens' log-probabilities\n"
     "  --attention        record attention maps, within the budget below\n"
     "  --attention-layers 0,2,5-7  --attention-heads 0-3  --attention-steps FIRST:LAST\n"
     "  --attention-prompt-cells N  per head, cells of the prompt's map (default 1048576)\n"
     "  --attention-budget-mb N     f16 payload cap over the run (default 256)\n"
     "  --memory-interval-ms N      sample the process's memory this often (default 100, 0 = off)\n"
     "  --quiet            do not print the text\n",
     cmd_run},
    {"runs", "list the runs recorded in a trace file", "  FILE.db            the trace file\n",
     cmd_runs},
    {"report", "the analyses of a recorded run: expert load and imbalance, heads, top ops",
     "  FILE.db            the trace file\n"
     "  --run N            the run (default: the last one)\n"
     "  --json             every number, machine-readable\n"
     "  --window W         routing over the last W decode steps (default: the whole run)\n"
     "  --capacity-factor C  for the hypothetical drop rate (default 1.25)\n"
     "  --layer L          co-activation and top tokens of this layer (default: the last)\n"
     "  --top-tokens N     tokens listed per expert (default 5)\n"
     "  --head-metric M    rank heads by entropy, entropy_norm, sink, previous, duplicate or\n"
     "                     induction (default)\n"
     "  --top-heads N      heads listed (default 10)\n"
     "  --ops-by G         group ops by name (default), name_layer, kind, layer, expert, device\n"
     "  --top-ops N        op groups listed (default 15)\n"
     "  --compare R        routing stability (top-k overlap per layer) against run R\n"
     "  --ceilings FILE    machine ceilings (default: what moescope bench --ceilings saved)\n",
     cmd_report},
    {"export", "export a recorded run as Perfetto/Chrome JSON, Tracy-style CSV or JSON",
     "  FILE.db            the trace file\n"
     "  --run N            the run (default: the last one)\n"
     "  --format F         perfetto (ui.perfetto.dev, chrome://tracing), csv (per-op statistics\n"
     "                     in tracy-csvexport columns) or json (the whole run); default perfetto\n"
     "  --out FILE         where to write\n",
     cmd_export},
    {"eval", "loss and perplexity of a model on a text file",
     "  --model DIR        model directory (default: the embedded default model)\n"
     "  --tokenizer FILE   the tokenizer (default: the model's; ckpt-0 ships none)\n"
     "  --text-file FILE   the text to score\n"
     "  --max-tokens N     score only the first N tokens\n"
     "  --dump-logits FILE write the logits of every position as JSON\n"
     "  --threads N        CPU threads (default: all cores)\n"
     "  --activations A    f32 (default), bf16 or int8, as for generate\n",
     cmd_eval},
    {"bench", "prefill and decode throughput, time per op, achieved bandwidth, peak memory",
     "  --model DIR        model directory (default: the embedded default model)\n"
     "  --preset P         instead, a synthetic Grok-1-architecture model built in memory:\n"
     "                     tinyA, tinyB or tinyC (issue 9's shapes; random weights)\n"
     "  --dtype D          the preset's weights: f32 (default), bf16 or int8 (group scales)\n"
     "  --int8-groups G    int8 scale groups per row (default 1; must divide every K)\n"
     "  --seed S           the preset's weight seed (default 1)\n"
     "  --prompt-tokens N  prompt length (default 512)\n"
     "  --gen-tokens N     tokens to decode (default 128)\n"
     "  --threads N        CPU threads (default: all cores)\n"
     "  --isa NAME         the CPU kernels' instruction set: portable, avx2, avx512 or amx\n"
     "                     (default: the widest this CPU has, or $MOESCOPE_ISA)\n"
     "  --activations A    f32 (default), bf16 or int8, as for generate (or "
     "$MOESCOPE_ACTIVATIONS)\n"
     "  --repeat R         runs; median [min-max] is reported (default 3)\n"
     "  --no-breakdown     skip the traced pass that times every op (time per token by op)\n"
     "  --top N            ops listed per phase in the breakdown (default 8)\n"
     "  --json             machine-readable output\n"
     "  --ceilings         instead, measure the machine's memory read bandwidth (1 and N\n"
     "                     threads) and f32 GEMM rate, and save them for the op statistics\n"
     "  --ceilings-file F  where they are saved and read from (for achieved GB/s, GFLOP/s)\n"
     "                     (default: ~/.local/share/moescope/ceilings.json, or under\n"
     "                     $XDG_DATA_HOME)\n"
     "  --array-mb N       the read benchmark's array size (default 1024)\n"
     "  --measure-read     after the runs, measure the read bandwidth with --threads threads\n"
     "                     (--array-mb, default 512 here) and compare decode with it: a shared\n"
     "                     host's bandwidth moves from minute to minute (its array is not\n"
     "                     counted in peak RSS)\n"
     "  --trace-overhead   instead, time generation untraced, recording tokens only, routing +\n"
     "                     ops, and + attention (prompt 64, 128 generated tokens by default) and\n"
     "                     print the slowdown and trace bytes per token of each\n",
     cmd_bench},
    {"probe", "probe induction: rank attention heads on repeated random tokens",
     "  induction          the probe (repeated random tokens [r1..rN, r1..rN])\n"
     "  --model DIR        model directory (default: the embedded default model)\n"
     "  --length N         random tokens before the repeat (default 50)\n"
     "  --seed S           random seed (default 1)\n"
     "  --trace FILE.db    also record the run (tokens, routing, attention maps) there\n"
     "  --top N            heads listed (default 20; 0 = all)\n"
     "  --threads N        CPU threads (default: all cores)\n"
     "  --json             machine-readable output\n",
     cmd_probe},
    {"convert", "convert a checkpoint (ckpt-0, torch .bin, safetensors) to verified safetensors",
     "  --from DIR         the source: Grok-1 ckpt-0, HF .bin port, safetensors, Grok-2 TP files\n"
     "  --to DIR           the target directory (written atomically; must not exist)\n"
     "  --dtype D          keep (default: int8 stays int8 with its scales), bf16, or int8\n"
     "  --names S          tensor names: hpcai (our layout), sglang, keyfan, mixtral\n"
     "                     (default: the source's; ckpt-0 reads as hpcai)\n"
     "  --shard-size SIZE  split into model-NNNNN-of-NNNNN.safetensors + index above SIZE\n"
     "                     (default 5GB; units B, KB, MB, GB, KiB, MiB, GiB)\n"
     "  --groups G         scale groups per row for --dtype int8 (default 1)\n"
     "  --tokenizer FILE   also copy this tokenizer (ckpt-0 ships none)\n"
     "  --overwrite        replace an existing target\n"
     "  --quiet            print only the summary\n",
     cmd_convert},
    {"gui", "the workbench: prompt, watch routing, attention and kernels live, browse runs",
     "  --model DIR        model directory (default: the embedded default model)\n"
     "  --trace FILE.db    record runs here (default: workbench.db in the user's data directory)\n"
     "  --open FILE.db     browse the runs of a trace file, without a model\n"
     "  --threads N        CPU threads for the engine (default: all cores)\n"
     "  --activations A    f32 (default), bf16 or int8, as for generate\n"
     "  --size WxH         window size (default 1600x960)\n"
     "  --scale S          text size (default: the saved setting, 1 = 15 px)\n"
     "  --config-dir DIR   settings and window layout (default ~/.config/moescope)\n"
     "  --script FILE      run a script of actions (see app/gui/script.h), then exit\n"
     "  --screenshot-dir DIR  where the script's screenshots go\n"
     "  --frame-stats FILE.json  write frame-time statistics at exit\n",
     cmd_gui},
    {nullptr, nullptr, nullptr, nullptr},
};

void print_help(FILE* out) {
  std::fprintf(out,
               "moescope %s: a research workbench for Grok-family Mixture-of-Experts models\n\n"
               "usage: moescope <command> [options]\n\ncommands:\n",
               MOESCOPE_VERSION);
  for (const Command* c = kCommands; c->name; ++c)
    std::fprintf(out, "  %-10s %s\n", c->name, c->summary);
  std::fprintf(out, "\n`moescope <command> --help` lists a command's options.\n");
}

void print_usage(FILE* out, const Command& c) {
  std::fprintf(out, "usage: moescope %s [options]\n%s\n\n%s", c.name, c.summary, c.usage);
}

}  // namespace

const Command* commands() {
  return kCommands;
}

std::string default_model_dir() {
  if (const char* env = std::getenv("MOESCOPE_DEFAULT_MODEL")) return env;
  return std::string(MOESCOPE_ASSETS_DIR) +
         "/tiny-grok1";  // trained (assets/tiny-grok1/MODEL_CARD.md)
}

int run_cli(int argc, char** argv) {
  if (argc < 2 && gui_can_open()) {
    Args none("gui", {});
    try {
      return cmd_gui(none);
    } catch (const Error& e) {
      std::fprintf(stderr, "moescope: error: %s\n", e.what());
      return 1;
    }
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    print_help(stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("moescope %s\n", MOESCOPE_VERSION);
    return 0;
  }
  const Command* cmd = nullptr;
  for (const Command* c = kCommands; c->name; ++c)
    if (!std::strcmp(argv[1], c->name)) cmd = c;
  if (!cmd) {
    std::fprintf(stderr, "moescope: unknown command '%s'\n\n", argv[1]);
    print_help(stderr);
    return 2;
  }
  Args args(cmd->name, std::vector<std::string>(argv + 2, argv + argc));
  if (const std::string bad = kernels::isa_env_error(); !bad.empty()) {
    std::fprintf(stderr, "moescope: error: %s\n", bad.c_str());
    return 2;
  }
  if (const std::string bad = kernels::activations_env_error(); !bad.empty()) {
    std::fprintf(stderr, "moescope: error: %s\n", bad.c_str());
    return 2;
  }
  try {
    if (args.flag("help")) {
      print_usage(stdout, *cmd);
      return 0;
    }
    return cmd->run(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "moescope %s: %s\n\n", cmd->name, e.what());
    print_usage(stderr, *cmd);
    return 2;
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "moescope: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "moescope: error: out of memory\n");
    return 1;
  }
}

}  // namespace moescope::app
