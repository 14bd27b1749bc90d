// `moescope info`: sizes of a model computed from its configuration alone (nothing allocated);
// with --load, also the weight memory the loaded model actually uses (mapped vs owned bytes,
// what a bf16 expansion would take, peak RSS).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/cli/command_list.h"
#include "app/cli/format.h"
#include "app/cli/parallel_plan.h"
#include "engine/config/model_config.h"
#include "engine/config/model_stats.h"
#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/weights/checkpoint_config.h"

namespace moescope::app {

namespace {

// Bytes of the weight files in dir as stored on disk: *.safetensors, *.bin, ckpt-0's tensor*.
int64_t checkpoint_file_bytes(const std::string& dir, int* n_files) {
  int64_t total = 0;
  *n_files = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".safetensors" || entry.path().extension() == ".bin" ||
        (name.rfind("tensor", 0) == 0 && name.size() == 15)) {
      total += int64_t(entry.file_size(ec));
      ++*n_files;
    }
  }
  return total;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or -1.
int64_t proc_status_bytes(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int64_t kib = -1;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') kib = std::atoll(line + n + 1);
  std::fclose(f);
  return kib < 0 ? -1 : kib * 1024;
}

// Memory of the loaded weights, measured.
struct LoadedMemory {
  int64_t mapped = 0;            // checkpoint tensors in use that are views into mapped files
  int64_t checkpoint_owned = 0;  // tensors built at load: transposed int8, joined TP slices
  int64_t copies = 0;            // f32 copies: norms, router, quantisation scales
  int64_t matrices = 0;          // stored bytes of the matrices
  int64_t matrices_bf16 = 0;     // the same matrices expanded to bf16
  int64_t rss = -1, peak_rss = -1;
  std::string scheme;
};

LoadedMemory measure_loaded(const std::string& dir) {
  LoadedModel m = load_model(dir, false);
  LoadedMemory r;
  r.mapped = int64_t(m.weights->mapped_bytes);
  r.checkpoint_owned = int64_t(m.weights->checkpoint_owned_bytes);
  r.copies = int64_t(m.weights->owned_bytes);
  r.matrices = int64_t(m.weights->matrix_bytes);
  r.matrices_bf16 = int64_t(m.weights->bf16_expanded_bytes);
  r.scheme = naming_scheme_name(m.weights->scheme);
  r.rss = proc_status_bytes("VmRSS");
  r.peak_rss = proc_status_bytes("VmHWM");
  return r;
}

}  // namespace

int cmd_info(Args& args) {
  auto preset = args.value("preset");
  auto model = args.value("model");
  const bool as_json = args.flag("json");
  const bool load = args.flag("load");
  std::optional<PlanRequest> plan = plan_request(args);
  args.done();
  if (preset && model) throw UsageError("give either --preset or --model, not both");
  if (!preset && !model) model = default_model_dir();
  if (load && preset) throw UsageError("--load needs --model (a preset has no weights)");

  const ModelConfig c = preset ? preset_config(*preset) : checkpoint_config(*model);
  if (plan) parallel::validate_layout(c, plan->layout);  // a bad layout fails before anything
  std::optional<LoadedMemory> mem;
  if (load) mem = measure_loaded(*model);
  const ParamCounts p = count_params(c);
  const WeightBytes b = weight_bytes(c);
  const int64_t kv16 = kv_cache_bytes_per_token(c, 2);

  if (as_json) {
    nlohmann::json j = {{"model", preset ? *preset : *model},
                        {"architecture", arch_name(c.arch)},
                        {"layers", c.n_layers},
                        {"d_model", c.d_model},
                        {"q_heads", c.n_heads},
                        {"kv_heads", c.n_kv_heads},
                        {"head_dim", c.head_dim},
                        {"experts", c.n_experts},
                        {"top_k", c.top_k},
                        {"expert_ffn", c.expert_ffn},
                        {"shared_ffn", c.shared_ffn},
                        {"vocab_size", c.vocab_size},
                        {"context", c.max_seq_len},
                        {"params_total", p.total},
                        {"params_active_per_token", p.active},
                        {"params_attention_per_layer", p.attention_per_layer},
                        {"params_expert", p.expert},
                        {"params_per_layer", p.per_layer},
                        {"params_embedding", p.embedding},
                        {"weight_bytes",
                         {{"f32", b.f32},
                          {"bf16", b.bf16},
                          {"int8_scaled", b.int8_scaled},
                          {"int8_scales", b.int8_scales_only},
                          {"fp8", b.fp8}}},
                        {"kv_cache_bytes_per_token",
                         {{"f32", kv_cache_bytes_per_token(c, 4)},
                          {"bf16", kv16},
                          {"fp8", kv_cache_bytes_per_token(c, 1)}}},
                        {"matmul_flops_per_token", matmul_flops_per_token(c)},
                        {"attention_flops_per_position", attention_flops_per_position(c)}};
    if (mem)
      j["loaded"] = {{"mapped_bytes", mem->mapped},
                     {"checkpoint_owned_bytes", mem->checkpoint_owned},
                     {"f32_copies_bytes", mem->copies},
                     {"resident_weight_bytes", mem->mapped + mem->checkpoint_owned + mem->copies},
                     {"matrix_bytes", mem->matrices},
                     {"matrix_bytes_bf16_expanded", mem->matrices_bf16},
                     {"rss_bytes", mem->rss},
                     {"peak_rss_bytes", mem->peak_rss},
                     {"naming_scheme", mem->scheme}};
    if (plan) j["parallel_plan"] = plan_json(c, *plan);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  auto row = [](const char* k, const std::string& v) { std::printf("%-26s %s\n", k, v.c_str()); };
  row("model", preset ? *preset + " (built-in preset)" : *model);
  row("architecture", cat(arch_name(c.arch), ": ", c.n_layers, " layers, d_model ", c.d_model, ", ",
                          c.n_heads, " query / ", c.n_kv_heads, " KV heads x ", c.head_dim, ", ",
                          c.n_experts, " experts top-", c.top_k, ", expert FFN ", c.expert_ffn,
                          c.shared_ffn ? cat(", shared MLP ", c.shared_ffn) : std::string(),
                          ", vocab ", c.vocab_size, ", context ", c.max_seq_len));
  row("parameters, total", with_commas(p.total) + (c.tied_embeddings ? " (tied embeddings)" : ""));
  row("parameters, active/token", with_commas(p.active));
  row("  attention / layer", with_commas(p.attention_per_layer));
  row("  one expert", with_commas(p.expert));
  row("  experts / layer", with_commas(p.experts_per_layer));
  if (p.shared_mlp_per_layer) row("  shared MLP / layer", with_commas(p.shared_mlp_per_layer));
  row("  router / layer", with_commas(p.router_per_layer));
  row("  per layer", with_commas(p.per_layer));
  row("  embedding", with_commas(p.embedding));
  if (p.lm_head) row("  lm_head", with_commas(p.lm_head));
  row("weights, f32", with_commas(b.f32) + " B (" + decimal_bytes(b.f32) + ")");
  row("weights, bf16", with_commas(b.bf16) + " B (" + decimal_bytes(b.bf16) + ")");
  row("weights, int8 + scales", with_commas(b.int8_scaled) + " B (" + decimal_bytes(b.int8_scaled) +
                                    "; int8 linear layers, bf16 group scales " +
                                    decimal_bytes(b.int8_scales_only) +
                                    ", f32 embedding/norms/router)");
  row("weights, fp8",
      with_commas(b.fp8) + " B (" + decimal_bytes(b.fp8) + "; e4m3 linear layers, bf16 rest)");
  row("KV cache / token", with_commas(kv16) + " B bf16 (" + binary_bytes(kv16) + "), " +
                              with_commas(kv_cache_bytes_per_token(c, 4)) + " B f32, " +
                              with_commas(kv_cache_bytes_per_token(c, 1)) + " B fp8");
  row("KV cache / full context",
      binary_bytes(kv16 * c.max_seq_len) + " bf16 for " + with_commas(c.max_seq_len) + " tokens");
  row("FLOPs / token", fixed(double(matmul_flops_per_token(c)) / 1e9, 1) + " GFLOP matmul + " +
                           with_commas(attention_flops_per_position(c)) +
                           " attention per context position");
  if (model) {
    int n_files = 0;
    int64_t on_disk = checkpoint_file_bytes(*model, &n_files);
    if (n_files > 0)
      row("checkpoint on disk", cat(n_files, " weight file(s), ", with_commas(on_disk), " B (",
                                    decimal_bytes(on_disk), ")"));
  }
  if (mem) {
    const int64_t resident = mem->mapped + mem->checkpoint_owned + mem->copies;
    row("loaded weights",
        with_commas(resident) + " B (" + binary_bytes(resident) + "), " + mem->scheme + " names");
    row("  mapped (file views)", with_commas(mem->mapped) + " B");
    row("  owned by checkpoint",
        with_commas(mem->checkpoint_owned) + " B (transposed ckpt-0 / joined TP / re-aligned)");
    row("  f32 copies", with_commas(mem->copies) + " B (norms, router, quantisation scales)");
    row("  matrices as stored",
        with_commas(mem->matrices) + " B; expanded to bf16 " + with_commas(mem->matrices_bf16) +
            " B (" + fixed(mem->matrices > 0 ? double(mem->matrices_bf16) / mem->matrices : 0, 2) +
            "x)");
    row("RSS after loading",
        mem->rss < 0 ? std::string("unknown")
                     : binary_bytes(mem->rss) + " (peak " + binary_bytes(mem->peak_rss) + ")");
  }
  if (plan) print_plan(c, *plan);
  return 0;
}

}  // namespace moescope::app
