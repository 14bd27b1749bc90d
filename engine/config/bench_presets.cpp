// The bench presets: Grok-1's hyperparameters (grok-architecture.md 1.1) with the sizes of the
// issue 9 table; every size-dependent constant is recomputed from the small sizes the way Grok-1
// derives it (logit multiplier 1/sqrt(Dh), embedding multiplier sqrt(D)).
#include "engine/config/bench_presets.h"

#include <cmath>

#include "engine/core/error.h"

namespace moescope {

namespace {

struct Shape {
  const char* name;
  int64_t layers, d, hq, hkv, dh, ffn, vocab;
};

constexpr Shape kShapes[] = {
    {"tinyA", 4, 256, 8, 2, 32, 512, 2048},
    {"tinyB", 8, 512, 8, 2, 64, 1408, 32000},
    {"tinyC", 8, 1024, 16, 4, 64, 2816, 32000},
};

}  // namespace

std::vector<std::string> bench_preset_names() {
  std::vector<std::string> names;
  for (const Shape& s : kShapes) names.emplace_back(s.name);
  return names;
}

ModelConfig bench_preset_config(std::string_view name) {
  for (const Shape& s : kShapes) {
    if (name != s.name) continue;
    ModelConfig c;
    c.name = s.name;
    c.arch = Arch::Grok1;
    c.vocab_size = s.vocab;
    c.d_model = s.d;
    c.n_layers = s.layers;
    c.n_heads = s.hq;
    c.n_kv_heads = s.hkv;
    c.head_dim = s.dh;
    c.n_experts = 8;
    c.top_k = 2;
    c.expert_ffn = s.ffn;
    c.max_seq_len = 8192;
    c.rope_theta = 10000.0;
    c.attn_logit_multiplier = float(1.0 / std::sqrt(double(s.dh)));
    c.attn_softcap = 30.0f;
    c.embed_multiplier = float(std::sqrt(double(s.d)));
    c.output_multiplier = 0.5773502691896257f;
    c.expert_act = Activation::GeluTanh;
    c.tied_embeddings = true;
    c.mask_pad_keys = true;
    c.validate();
    return c;
  }
  fail("unknown bench preset '", name, "' (expected tinyA, tinyB or tinyC)");
}

}  // namespace moescope
