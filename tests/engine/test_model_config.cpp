// Model configs: presets reproduce grok-architecture.md section 8 exactly; config.json of each
// family parses to the right switches; inconsistent or unknown configs fail naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/config/model_config.h"
#include "engine/config/model_stats.h"
#include "engine/core/error.h"
#include "tests/common/expect_error.h"
#include "tests/common/tiny_checkpoint.h"

namespace moescope {
namespace {

// The hpcai-tech/grok-1 config.json (grok-architecture.md 4.2), as that port ships it.
const char* kHpcaiGrok1 = R"({
  "architectures": ["Grok1ModelForCausalLM"], "model_type": "grok-1",
  "vocab_size": 131072, "hidden_size": 6144, "intermediate_size": 32768,
  "num_hidden_layers": 64, "num_attention_heads": 48, "num_key_value_heads": 8,
  "attn_output_multiplier": 0.08838834764831845, "max_attn_value": 30.0,
  "max_position_embeddings": 8192, "embedding_multiplier_scale": 78.38367176906169,
  "output_multiplier_scale": 0.5773502691896257, "rms_norm_eps": 1e-05,
  "num_experts_per_tok": 2, "num_experts": 8, "output_router_logits": false,
  "router_aux_loss_coef": 0.001, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "use_cache": true})";

// Grok-2's keys (grok-architecture.md 1.2).
const char* kGrok2 = R"({
  "architectures": ["Grok1ForCausalLM"], "vocab_size": 131072, "hidden_size": 8192,
  "num_hidden_layers": 64, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128,
  "num_local_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 16384,
  "intermediate_size": 32768, "residual_moe": true, "max_position_embeddings": 131072,
  "rope_theta": 208533496, "rope_type": "original", "original_max_position_embeddings": 8192,
  "scaling_factor": 16.0, "rms_norm_eps": 1e-05,
  "embedding_multiplier_scale": 90.50966799187809, "output_multiplier_scale": 0.5,
  "attn_logit_softcapping": 30.0, "router_logit_softcapping": 30.0,
  "final_logit_softcapping": 50, "attn_temperature_len": 1024, "sliding_window_size": -1,
  "global_attn_every_n": 1, "torch_dtype": "bfloat16", "model_type": "git"})";

TEST(Presets, Grok1MatchesSection8) {
  const ModelConfig c = preset_config("grok-1");
  const ParamCounts p = count_params(c);
  EXPECT_EQ(p.attention_per_layer, 88'080'384);
  EXPECT_EQ(p.expert, 603'979'776);
  EXPECT_EQ(p.experts_per_layer, 4'831'838'208);
  EXPECT_EQ(p.router_per_layer, 49'152);
  EXPECT_EQ(p.per_layer, 4'919'992'320);
  EXPECT_EQ(p.embedding, 805'306'368);
  EXPECT_EQ(p.total, 315'684'820'992);
  EXPECT_EQ(p.active, 83'756'587'008);
  const WeightBytes b = weight_bytes(c);
  EXPECT_EQ(b.bf16, 631'369'641'984);
  // ckpt-0: 314.87 GB int8 + 0.125 GB bf16 scales + 3.24 GB f32 = 318.24 GB.
  EXPECT_EQ(
      b.int8_scaled - b.int8_scales_only -
          4 * (p.embedding + c.n_layers * (p.norms_per_layer + p.router_per_layer) + p.final_norm),
      314'874'789'888);
  EXPECT_EQ(b.int8_scales_only, 124'780'544);
  EXPECT_EQ(b.int8_scaled, 318'239'694'848);
  EXPECT_NEAR(double(b.fp8) / 1e9, 316.5, 0.05);
  EXPECT_EQ(kv_cache_bytes_per_token(c, 2), 262'144);
  EXPECT_EQ(kv_cache_bytes_per_token(c, 1), 131'072);
  EXPECT_EQ(attention_flops_per_position(c), 1'572'864);
  EXPECT_NEAR(double(matmul_flops_per_token(c)) / 1e9, 167.5, 0.05);
}

TEST(Presets, Grok2MatchesSection8) {
  const ModelConfig c = preset_config("grok-2");
  const ParamCounts p = count_params(c);
  EXPECT_EQ(p.attention_per_layer, 150'994'944);
  EXPECT_EQ(p.expert, 402'653'184);
  EXPECT_EQ(p.experts_per_layer, 3'221'225'472);
  EXPECT_EQ(p.shared_mlp_per_layer, 805'306'368);
  EXPECT_EQ(p.router_per_layer, 65'536);
  EXPECT_EQ(p.per_layer, 4'177'625'088);
  EXPECT_EQ(p.embedding, 1'073'741'824);
  EXPECT_EQ(p.lm_head, 1'073'741'824);
  EXPECT_EQ(p.total, 269'515'497'472);
  EXPECT_EQ(p.active, 113'822'932'992);
  EXPECT_EQ(weight_bytes(c).bf16, 539'030'994'944);
  EXPECT_NEAR(double(weight_bytes(c).fp8) / 1e9, 271.7, 0.05);
  EXPECT_EQ(kv_cache_bytes_per_token(c, 2), 262'144);
  EXPECT_EQ(attention_flops_per_position(c), 2'097'152);
  EXPECT_NEAR(double(matmul_flops_per_token(c)) / 1e9, 227.6, 0.05);
}

TEST(Presets, UnknownNameListsKnownOnes) {
  try {
    preset_config("grok-3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("grok-1"), std::string::npos) << e.what();
  }
}

TEST(ConfigJson, HpcaiGrok1EqualsThePreset) {
  const ModelConfig c = parse_model_config(kHpcaiGrok1, "config.json");
  const ModelConfig p = preset_config("grok-1");
  EXPECT_EQ(c.arch, Arch::Grok1);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.expert_ffn, p.expert_ffn);
  EXPECT_FLOAT_EQ(c.attn_logit_multiplier, p.attn_logit_multiplier);
  EXPECT_FLOAT_EQ(c.attn_softcap, 30.0f);
  EXPECT_FLOAT_EQ(c.embed_multiplier, p.embed_multiplier);
  EXPECT_FLOAT_EQ(c.output_multiplier, p.output_multiplier);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.router_softcap, 0.0f);  // the JAX reference has none
  EXPECT_FALSE(c.renormalize_topk);
  EXPECT_TRUE(c.sandwich_norm);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_TRUE(c.mask_pad_keys);
  EXPECT_EQ(c.expert_act, Activation::GeluTanh);
  EXPECT_EQ(count_params(c).total, count_params(p).total);
}

TEST(ConfigJson, Grok2SwitchesAreOn) {
  const ModelConfig c = parse_model_config(kGrok2, "config.json");
  EXPECT_EQ(c.arch, Arch::Grok2);
  EXPECT_EQ(c.expert_ffn, 16384);
  EXPECT_EQ(c.shared_ffn, 32768);
  EXPECT_TRUE(c.residual_moe);
  EXPECT_EQ(c.attn_temperature_len, 1024);
  EXPECT_FLOAT_EQ(c.router_softcap, 30.0f);
  EXPECT_FLOAT_EQ(c.final_logit_softcap, 50.0f);
  EXPECT_FLOAT_EQ(c.attn_logit_multiplier, float(1.0 / std::sqrt(128.0)));
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(c.expert_act, Activation::GeluErf);
  EXPECT_EQ(c.shared_act, Activation::GeluErf);
  EXPECT_DOUBLE_EQ(c.rope_theta, 208533496.0);
  EXPECT_EQ(count_params(c).total, 269'515'497'472);
}

TEST(ConfigJson, MixtralIsPreNormSiluRenormalised) {
  const char* mixtral = R"({"architectures": ["MixtralForCausalLM"], "vocab_size": 32000,
    "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8,
    "num_experts_per_tok": 2, "rope_theta": 1000000.0, "rms_norm_eps": 1e-05,
    "max_position_embeddings": 32768, "sliding_window": null, "hidden_act": "silu",
    "tie_word_embeddings": false})";
  const ModelConfig c = parse_model_config(mixtral, "config.json");
  EXPECT_EQ(c.arch, Arch::Mixtral);
  EXPECT_FALSE(c.sandwich_norm);
  EXPECT_TRUE(c.renormalize_topk);
  EXPECT_EQ(c.expert_act, Activation::Silu);
  EXPECT_EQ(c.attn_softcap, 0.0f);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_FLOAT_EQ(c.embed_multiplier, 1.0f);
  // Mixtral 8x7B: 46.7B parameters.
  EXPECT_EQ(count_params(c).total, 46'702'792'704);
}

TEST(ConfigJson, TinyConfigsRoundTrip) {
  for (Arch a : {Arch::Grok1, Arch::Grok2, Arch::Mixtral}) {
    const ModelConfig want = test::tiny_config(a);
    const ModelConfig got = parse_model_config(test::config_json(want), "config.json");
    EXPECT_EQ(got.arch, want.arch);
    EXPECT_EQ(count_params(got).total, count_params(want).total) << arch_name(a);
    EXPECT_EQ(got.residual_moe, want.residual_moe);
    EXPECT_EQ(got.attn_temperature_len, want.attn_temperature_len);
    EXPECT_EQ(got.tied_embeddings, want.tied_embeddings);
  }
}

// Each bad config fails with a message naming the source and the field.
void expect_config_error(const std::string& json, const std::string& fragment) {
  test::expect_error([&] { parse_model_config(json, "models/x/config.json"); },
                     {"models/x/config.json", fragment});
}

std::string with(const std::string& base, const std::string& key, const std::string& value) {
  nlohmann::json j = nlohmann::json::parse(base);
  if (value.empty())
    j.erase(key);
  else
    j[key] = nlohmann::json::parse(value);
  return j.dump();
}

TEST(ConfigJson, BadConfigsNameTheField) {
  expect_config_error(with(kHpcaiGrok1, "num_key_value_heads", "7"), "num_key_value_heads");
  expect_config_error(with(kHpcaiGrok1, "architectures", R"(["LlamaForCausalLM"])"),
                      "LlamaForCausalLM");
  expect_config_error(with(kHpcaiGrok1, "hidden_size", ""), "hidden_size");
  expect_config_error(with(kHpcaiGrok1, "hidden_size", R"("6144")"), "hidden_size");
  expect_config_error(with(kHpcaiGrok1, "num_experts_per_tok", "9"), "num_experts_per_tok");
  expect_config_error(with(kHpcaiGrok1, "num_hidden_layers", "0"), "num_hidden_layers");
  // Too many digits for uint64: parsed as a float, which no int64 holds (fuzz_config_json).
  expect_config_error(with(kHpcaiGrok1, "num_hidden_layers", "444444444444444444444444444444"),
                      "num_hidden_layers");
  expect_config_error(with(kHpcaiGrok1, "hidden_size", "6144.5"), "hidden_size");
  expect_config_error(with(kHpcaiGrok1, "head_dim", "127"), "head_dim");
  expect_config_error(with(kHpcaiGrok1, "eos_token_id", "200000"), "eos_token_id");
  expect_config_error(with(kHpcaiGrok1, "tie_word_embeddings", "3"), "tie_word_embeddings");
  expect_config_error(with(kGrok2, "sliding_window_size", "4096"), "sliding_window_size");
  expect_config_error(with(kGrok2, "rope_type", R"("yarn")"), "rope_type");
  expect_config_error("{not json", "not valid JSON");
  expect_config_error("[1, 2]", "JSON object");
}

TEST(ConfigJson, MissingFileNamesIt) {
  try {
    load_model_config("/nonexistent/dir/config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace moescope
