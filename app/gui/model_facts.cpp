#include "app/gui/model_facts.h"

#include <cstdio>
#include <filesystem>

#include "engine/config/model_stats.h"
#include "inspectors/widgets/plot_frame.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"

namespace moescope::gui {

namespace {

std::string count(int64_t n) {
  char buf[48];
  if (n >= 1000000000)
    std::snprintf(buf, sizeof buf, "%.2f B", double(n) / 1e9);
  else if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.2f M", double(n) / 1e6);
  else if (n >= 1000)
    std::snprintf(buf, sizeof buf, "%.1f k", double(n) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%lld", (long long)n);
  return buf;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

panels::ModelFacts describe_model(const ModelConfig& c, const std::string& dir, int threads,
                                  int64_t weight_file_bytes) {
  panels::ModelFacts f;
  f.dir = dir;
  f.name = std::filesystem::path(dir).filename().string();
  f.architecture = arch_name(c.arch);
  f.n_layers = int32_t(c.n_layers);
  f.n_heads = int32_t(c.n_heads);
  f.n_kv_heads = int32_t(c.n_kv_heads);
  f.n_experts = int32_t(c.n_experts);
  f.top_k = int32_t(c.top_k);
  f.context = c.max_seq_len;
  f.threads = threads;
  f.config = {
      {"architecture", f.architecture},
      {"layers", std::to_string(c.n_layers)},
      {"d_model", std::to_string(c.d_model)},
      {"query heads", std::to_string(c.n_heads)},
      {"KV heads", std::to_string(c.n_kv_heads) + " (group " + std::to_string(c.gqa_group()) + ")"},
      {"head dim", std::to_string(c.head_dim)},
      {"experts", std::to_string(c.n_experts) + ", top-" + std::to_string(c.top_k) +
                      (c.renormalize_topk ? " renormalised" : "")},
      {"expert FFN", std::to_string(c.expert_ffn)},
      {"shared MLP", c.shared_ffn ? std::to_string(c.shared_ffn) : "none"},
      {"vocabulary", std::to_string(c.vocab_size)},
      {"context", std::to_string(c.max_seq_len)},
      {"RoPE theta", num(c.rope_theta)},
      {"attn logit multiplier", num(c.attn_logit_multiplier)},
      {"attn soft-cap", c.attn_softcap > 0 ? num(c.attn_softcap) : "off"},
      {"router soft-cap", c.router_softcap > 0 ? num(c.router_softcap) : "off"},
      {"final logit soft-cap", c.final_logit_softcap > 0 ? num(c.final_logit_softcap) : "off"},
      {"norms", c.sandwich_norm ? "sandwich (4 per layer)" : "pre-norm"},
      {"embeddings", c.tied_embeddings ? "tied" : "untied lm_head"}};
  const ParamCounts p = count_params(c);
  f.params = {{"total", count(p.total)},
              {"active per token", count(p.active)},
              {"per layer", count(p.per_layer)},
              {"attention per layer", count(p.attention_per_layer)},
              {"one expert", count(p.expert)},
              {"experts per layer", count(p.experts_per_layer)},
              {"router per layer", count(p.router_per_layer)},
              {"embedding", count(p.embedding)},
              {"lm_head", p.lm_head ? count(p.lm_head) : "tied"}};
  const WeightBytes b = weight_bytes(c);
  const int64_t kv = kv_cache_bytes_per_token(c, 4);
  f.memory = {
      {"weight files on disk", widgets::format_bytes(double(weight_file_bytes))},
      {"weights as f32", widgets::format_bytes(double(b.f32))},
      {"weights as bf16", widgets::format_bytes(double(b.bf16))},
      {"weights as int8 + scales", widgets::format_bytes(double(b.int8_scaled))},
      {"KV cache per token (f32)", widgets::format_bytes(double(kv))},
      {"KV cache at full context", widgets::format_bytes(double(kv) * double(c.max_seq_len))},
      {"matmul FLOPs per token", count(matmul_flops_per_token(c))}};
  // The kernels' instruction set and numerics mode: what --isa and --activations chose.
  f.devices = {"cpu (" + std::to_string(threads) + " threads, " +
               kernels::isa_name(kernels::active_isa()) + " kernels, " +
               kernels::effective_activations_name() + " activations)"};
  f.layout = "single device: no tensor or expert parallelism";
  return f;
}

}  // namespace moescope::gui
