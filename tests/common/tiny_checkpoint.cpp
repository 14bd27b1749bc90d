#include "tests/common/tiny_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/weights/safetensors.h"

namespace moescope::test {

using kernels::DType;

ModelConfig tiny_config(Arch arch) {
  ModelConfig c;
  c.name = "tiny-config";
  c.arch = arch;
  c.vocab_size = 96;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.n_experts = 4;
  c.top_k = 2;
  c.expert_ffn = 16;
  c.max_seq_len = 64;
  c.rope_theta = 10000.0;
  switch (arch) {
    case Arch::Grok1:
      c.attn_logit_multiplier = float(1.0 / std::sqrt(8.0));
      c.attn_softcap = 30.0f;
      c.embed_multiplier = float(std::sqrt(32.0));
      c.output_multiplier = 0.5773502691896257f;
      c.mask_pad_keys = true;
      break;
    case Arch::Grok2:
      c.shared_ffn = 24;
      c.residual_moe = true;
      c.rope_theta = 208533496.0;
      c.attn_logit_multiplier = float(1.0 / std::sqrt(8.0));
      c.attn_softcap = 30.0f;
      c.attn_temperature_len = 4;
      c.router_softcap = 30.0f;
      c.final_logit_softcap = 50.0f;
      c.embed_multiplier = float(std::sqrt(32.0));
      c.output_multiplier = 0.5f;
      c.expert_act = c.shared_act = Activation::GeluErf;
      c.tied_embeddings = false;
      break;
    case Arch::Mixtral:
      c.rope_theta = 1e6;
      c.attn_logit_multiplier = float(1.0 / std::sqrt(8.0));
      c.expert_act = Activation::Silu;
      c.renormalize_topk = true;
      c.sandwich_norm = false;
      c.tied_embeddings = false;
      break;
  }
  return c;
}

std::string config_json(const ModelConfig& c) {
  nlohmann::json j = {{"vocab_size", c.vocab_size},
                      {"hidden_size", c.d_model},
                      {"num_hidden_layers", c.n_layers},
                      {"num_attention_heads", c.n_heads},
                      {"num_key_value_heads", c.n_kv_heads},
                      {"head_dim", c.head_dim},
                      {"num_experts_per_tok", c.top_k},
                      {"max_position_embeddings", c.max_seq_len},
                      {"rope_theta", c.rope_theta},
                      {"rms_norm_eps", c.rms_eps},
                      {"tie_word_embeddings", c.tied_embeddings},
                      {"bos_token_id", c.bos_id},
                      {"eos_token_id", c.eos_id},
                      {"pad_token_id", c.pad_id}};
  switch (c.arch) {
    case Arch::Grok1:
      j["architectures"] = {"Grok1ModelForCausalLM"};
      j["model_type"] = "grok-1";
      j["num_experts"] = c.n_experts;
      j["intermediate_size"] = c.expert_ffn;
      j["attn_output_multiplier"] = c.attn_logit_multiplier;
      j["max_attn_value"] = c.attn_softcap;
      j["embedding_multiplier_scale"] = c.embed_multiplier;
      j["output_multiplier_scale"] = c.output_multiplier;
      break;
    case Arch::Grok2:
      j["architectures"] = {"Grok1ForCausalLM"};
      j["num_local_experts"] = c.n_experts;
      j["moe_intermediate_size"] = c.expert_ffn;
      j["intermediate_size"] = c.shared_ffn;
      j["residual_moe"] = c.residual_moe;
      j["attn_logit_softcapping"] = c.attn_softcap;
      j["router_logit_softcapping"] = c.router_softcap;
      j["final_logit_softcapping"] = c.final_logit_softcap;
      j["attn_temperature_len"] = c.attn_temperature_len;
      j["embedding_multiplier_scale"] = c.embed_multiplier;
      j["output_multiplier_scale"] = c.output_multiplier;
      j["rope_type"] = "original";
      break;
    case Arch::Mixtral:
      j["architectures"] = {"MixtralForCausalLM"};
      j["model_type"] = "mixtral";
      j["num_local_experts"] = c.n_experts;
      j["intermediate_size"] = c.expert_ffn;
      j["hidden_act"] = "silu";
      j["sliding_window"] = nullptr;
      break;
  }
  return j.dump(2);
}

TensorSet random_weights(const ModelConfig& c, NamingScheme scheme, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  TensorSet s;
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols, float std_dev) {
    std::vector<float>& v = s.values[name];
    v.resize(size_t(rows * cols));
    for (float& x : v) x = normal(rng) * std_dev;
    s.shapes[name] = {rows, cols};
  };
  auto norm = [&](const std::string& name, int64_t n) {
    if (name.empty()) return;
    std::vector<float>& v = s.values[name];
    v.resize(size_t(n));
    for (float& x : v) x = 1.0f + 0.1f * normal(rng);
    s.shapes[name] = {n};
  };
  TensorNames n{scheme};
  const int64_t D = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  const float in_d = 1.0f / std::sqrt(float(D));
  matrix(n.embed(), c.vocab_size, D, 1.0f / c.embed_multiplier);
  if (!c.tied_embeddings) matrix(n.lm_head(), c.vocab_size, D, in_d);
  norm(n.final_norm(), D);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    matrix(n.attn_q(l), qd, D, 2.0f * in_d);
    matrix(n.attn_k(l), kvd, D, 2.0f * in_d);
    matrix(n.attn_v(l), kvd, D, in_d);
    matrix(n.attn_o(l), D, qd, 1.0f / std::sqrt(float(qd)));
    norm(n.norm_pre_attn(l), D);
    norm(n.norm_pre_moe(l), D);
    if (c.sandwich_norm) {
      norm(n.norm_post_attn(l), D);
      norm(n.norm_post_moe(l), D);
    }
    matrix(n.router(l), c.n_experts, D, 2.0f * in_d);
    for (int64_t e = 0; e < c.n_experts; ++e) {
      matrix(n.expert_gate(l, e), c.expert_ffn, D, in_d);
      matrix(n.expert_up(l, e), c.expert_ffn, D, in_d);
      matrix(n.expert_down(l, e), D, c.expert_ffn, 1.0f / std::sqrt(float(c.expert_ffn)));
    }
    if (c.shared_ffn > 0) {
      matrix(n.shared_gate(l), c.shared_ffn, D, in_d);
      matrix(n.shared_up(l), c.shared_ffn, D, in_d);
      matrix(n.shared_down(l), D, c.shared_ffn, 1.0f / std::sqrt(float(c.shared_ffn)));
    }
  }
  return s;
}

namespace {

bool is_router(const std::string& name) {
  return name.find(".gate.weight") != std::string::npos;
}

// Symmetric per-row, per-group int8: scale = max|w| / 127 over each group of K/G columns.
void quantize_i8(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t groups,
                 std::vector<int8_t>& q, std::vector<float>& scales, std::vector<float>& decoded) {
  const int64_t gk = cols / groups;
  q.resize(w.size());
  scales.resize(size_t(rows * groups));
  decoded.resize(w.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      float amax = 0;
      for (int64_t k = g * gk; k < (g + 1) * gk; ++k)
        amax = std::max(amax, std::fabs(w[size_t(r * cols + k)]));
      const float scale = amax > 0 ? amax / 127.0f : 1.0f;
      scales[size_t(r * groups + g)] = scale;
      for (int64_t k = g * gk; k < (g + 1) * gk; ++k) {
        const size_t i = size_t(r * cols + k);
        q[i] = int8_t(std::lround(std::clamp(w[i] / scale, -127.0f, 127.0f)));
        decoded[i] = float(q[i]) * scale;
      }
    }
  }
}

}  // namespace

TensorSet write_checkpoint(const std::string& dir, const ModelConfig& c, const TensorSet& weights,
                           const WriteOptions& opt) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << config_json(c);

  TensorSet decoded;
  std::vector<std::vector<uint8_t>> storage;  // keeps the bytes alive until written
  std::vector<TensorToWrite> out;
  auto add = [&](const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                 std::vector<uint8_t> bytes) {
    storage.push_back(std::move(bytes));
    out.push_back({name, dtype, shape, storage.back().data()});
  };
  storage.reserve(weights.values.size() * 2 + 1);
  for (const auto& [name, values] : weights.values) {
    if (opt.omit.count(name)) continue;
    const std::vector<int64_t>& shape = weights.shapes.at(name);
    const bool matrix = shape.size() == 2 && !is_router(name);
    DType dtype = matrix ? opt.matrix_dtype : DType::F32;
    std::vector<float>& dec = decoded.values[name];
    decoded.shapes[name] = shape;
    if (dtype == DType::I8) {
      std::vector<int8_t> q;
      std::vector<float> scales;
      quantize_i8(values, shape[0], shape[1], opt.int8_groups, q, scales, dec);
      add(name, DType::I8, shape, std::vector<uint8_t>(q.begin(), q.end()));
      if (!opt.omit.count(name + "_scale")) {
        std::vector<uint8_t> sb(scales.size() * 4);
        std::memcpy(sb.data(), scales.data(), sb.size());
        add(name + "_scale", DType::F32, {shape[0], opt.int8_groups}, std::move(sb));
      }
    } else {
      std::vector<uint8_t> bytes(values.size() * kernels::dtype_size(dtype));
      kernels::convert_from_f32(values.data(), dtype, bytes.data(), values.size());
      dec.resize(values.size());
      kernels::convert_to_f32(dtype, bytes.data(), dec.data(), values.size());
      add(name, dtype, shape, std::move(bytes));
    }
  }
  write_safetensors(dir + "/" + opt.file, out, {{"format", "pt"}});
  return decoded;
}

}  // namespace moescope::test
