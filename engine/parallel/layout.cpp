#include "engine/parallel/layout.h"

#include <algorithm>
#include <sstream>

#include "engine/config/model_stats.h"
#include "engine/core/error.h"

namespace moescope::parallel {

std::vector<int> contiguous_placement(int64_t n_experts, int ep) {
  if (ep < 1 || n_experts % ep != 0)
    fail("--ep ", ep, " does not divide the model's ", n_experts,
         " experts (expected a divisor, or an explicit --expert-placement)");
  std::vector<int> out(static_cast<size_t>(n_experts));
  for (int64_t e = 0; e < n_experts; ++e) out[size_t(e)] = int(e / (n_experts / ep));
  return out;
}

std::vector<int> parse_placement(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(item, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0)
      fail("--expert-placement: '", item, "' is not an expert group number (expected e.g. ",
           "0,0,1,1,2,2,3,3: the group of each expert in expert order)");
    out.push_back(v);
  }
  return out;
}

void validate_layout(const ModelConfig& c, ParallelLayout& layout, int n_devices,
                     const std::string& device_kind) {
  const int tp = layout.tp, ep = layout.ep;
  if (tp < 1) fail("--tp must be >= 1 (got ", tp, ")");
  if (ep < 1) fail("--ep must be >= 1 (got ", ep, ")");
  if (c.n_heads % tp != 0)
    fail("--tp ", tp, " does not divide the ", c.n_heads, " query heads of ", c.name);
  if (c.n_kv_heads % tp != 0 && tp % c.n_kv_heads != 0)
    fail("--tp ", tp, " and the ", c.n_kv_heads, " KV heads of ", c.name,
         ": tp must divide them or be a multiple of them (KV heads are replicated then)");
  if (c.expert_ffn % tp != 0)
    fail("--tp ", tp, " does not divide the expert FFN width ", c.expert_ffn, " of ", c.name);
  if (c.shared_ffn > 0 && c.shared_ffn % tp != 0)
    fail("--tp ", tp, " does not divide the shared MLP width ", c.shared_ffn, " of ", c.name);
  if (layout.expert_group.empty()) {
    layout.expert_group = contiguous_placement(c.n_experts, ep);
  } else {
    if (int64_t(layout.expert_group.size()) != c.n_experts)
      fail("--expert-placement names ", layout.expert_group.size(), " experts; ", c.name, " has ",
           c.n_experts);
    std::vector<int> held(size_t(ep), 0);
    for (size_t e = 0; e < layout.expert_group.size(); ++e) {
      const int g = layout.expert_group[e];
      if (g < 0 || g >= ep)
        fail("--expert-placement puts expert ", e, " on group ", g, ", expected 0..", ep - 1,
             " for --ep ", ep);
      ++held[size_t(g)];
    }
    for (int g = 0; g < ep; ++g)
      if (held[size_t(g)] == 0)
        fail("--expert-placement leaves expert group ", g, " of ", ep, " without an expert");
  }
  if (n_devices >= 0 && layout.world() > n_devices)
    fail("--tp ", tp, " x --ep ", ep, " needs ", layout.world(), " ", device_kind, ", but ",
         n_devices, (n_devices == 1 ? " is" : " are"), " available");
}

WeightFormat parse_weight_format(const std::string& text) {
  if (text == "f32") return WeightFormat::F32;
  if (text == "bf16") return WeightFormat::BF16;
  if (text == "int8") return WeightFormat::Int8;
  if (text == "fp8") return WeightFormat::FP8;
  fail("--dtype must be f32, bf16, int8 or fp8 (got '", text, "')");
}

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32:
      return "f32";
    case WeightFormat::BF16:
      return "bf16";
    case WeightFormat::Int8:
      return "int8";
    case WeightFormat::FP8:
      return "fp8";
  }
  return "?";
}

namespace {

// Bytes per element of linear-layer weights, of their group scales, and of everything else
// (tables, norms, router), per format: the conventions of weight_bytes() in model_stats.cpp.
struct FormatBytes {
  int64_t linear, scale, other;
};

FormatBytes format_bytes(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32:
      return {4, 0, 4};
    case WeightFormat::BF16:
      return {2, 0, 2};
    case WeightFormat::Int8:
      return {1, 2, 4};
    case WeightFormat::FP8:
      return {1, 0, 2};
  }
  return {2, 0, 2};
}

}  // namespace

std::vector<RankMemory> memory_plan(const ModelConfig& c, const ParallelLayout& layout,
                                    WeightFormat format, int64_t kv_bytes_per_value) {
  const FormatBytes fb = format_bytes(format);
  const ParamCounts p = count_params(c);
  const int64_t tp = layout.tp, D = c.d_model;
  const int64_t qd = c.n_heads * c.head_dim, kvd_head = c.head_dim;
  // Scale elements as weight_bytes() counts them (8 K-groups for o-proj and expert down).
  constexpr int64_t kSplitGroups = 8;
  const int64_t kv_heads = c.n_kv_heads % tp == 0 ? c.n_kv_heads / tp : 1;

  // One layer, one rank.
  const int64_t q_o = 2 * qd * D / tp;
  const int64_t k_v = 2 * kv_heads * kvd_head * D;
  const int64_t attn_scales = (qd + kSplitGroups * D) / tp + 2 * kv_heads * kvd_head;
  const int64_t attention = (q_o + k_v) * fb.linear + attn_scales * fb.scale;
  const int64_t expert =
      3 * D * c.expert_ffn / tp * fb.linear + (2 * c.expert_ffn + kSplitGroups * D) / tp * fb.scale;
  const int64_t shared = c.shared_ffn > 0
                             ? 3 * D * c.shared_ffn / tp * fb.linear +
                                   (2 * c.shared_ffn + kSplitGroups * D) / tp * fb.scale
                             : 0;
  const int64_t vocab_rows = (c.vocab_size + tp - 1) / tp;
  const int64_t tables = (p.lm_head > 0 ? 2 : 1) * vocab_rows * D * fb.other;
  const int64_t replicated =
      (c.n_layers * (p.norms_per_layer + p.router_per_layer) + p.final_norm) * fb.other;

  std::vector<RankMemory> out;
  for (int e = 0; e < layout.ep; ++e)
    for (int t = 0; t < layout.tp; ++t) {
      RankMemory r;
      r.rank = e * layout.tp + t;
      r.tp_rank = t;
      r.ep_rank = e;
      r.experts_held = std::count(layout.expert_group.begin(), layout.expert_group.end(), e);
      r.kv_heads_held = kv_heads;
      r.attention = c.n_layers * attention;
      r.experts = c.n_layers * r.experts_held * expert;
      r.shared_mlp = c.n_layers * shared;
      r.tables = tables;
      r.replicated = replicated;
      r.total = r.attention + r.experts + r.shared_mlp + r.tables + r.replicated;
      r.kv_bytes_per_token = c.n_layers * 2 * kv_heads * c.head_dim * kv_bytes_per_value;
      out.push_back(r);
    }
  return out;
}

}  // namespace moescope::parallel
