// config.json parsing for the three families, and the built-in presets.
//
// Each family reads its own keys (grok-architecture.md 1.1, 1.2, 4.2; HF MixtralConfig) and fills
// the switches of section 10. Values that a config may omit get the defaults of the family's
// reference code; required sizes that are missing or of the wrong type are errors naming the key.
#include "engine/config/model_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/error.h"

namespace moescope {

using json = nlohmann::json;

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::Grok1:
      return "grok-1";
    case Arch::Grok2:
      return "grok-2";
    case Arch::Mixtral:
      return "mixtral";
  }
  return "?";
}

namespace {

// Typed access to the keys of one config object, with errors that name the source and key.
class Fields {
 public:
  Fields(const json& j, const std::string& source) : j_(j), source_(source) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  int64_t integer(const char* key) const {
    if (!has(key)) fail(source_, ": field '", key, "' is missing (expected an integer)");
    return as_integer(key);
  }
  int64_t integer(const char* key, int64_t fallback) const {
    return has(key) ? as_integer(key) : fallback;
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number())
      fail(source_, ": field '", key, "' is ", v.type_name(), ", expected a number");
    return v.get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_boolean())
      fail(source_, ": field '", key, "' is ", v.type_name(), ", expected true or false");
    return v.get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_string())
      fail(source_, ": field '", key, "' is ", v.type_name(), ", expected a string");
    return v.get<std::string>();
  }
  // Token ids may be a list in HF configs (several EOS ids); the first is the primary one.
  int32_t token_id(const char* key, int32_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int32_t>();
    if (!v.is_number_integer())
      fail(source_, ": field '", key, "' is ", v.type_name(), ", expected a token id");
    return v.get<int32_t>();
  }

 private:
  int64_t as_integer(const char* key) const {
    const json& v = j_[key];
    if (v.is_number_integer()) return v.get<int64_t>();
    // Some exporters write sizes as floats (e.g. 8192.0); accept exact integers only, and only
    // those an int64 holds (a longer run of digits than uint64's parses as a float too, and
    // converting it would be undefined: found by fuzz_config_json).
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::floor(d) == d && d >= -0x1p63 && d < 0x1p63) return int64_t(d);
    }
    fail(source_, ": field '", key, "' is ", v.type_name(), " ", v.dump(), ", expected an integer");
  }

  const json& j_;
  const std::string& source_;
};

Activation parse_activation(const Fields& f, const std::string& source, Activation fallback) {
  if (!f.has("hidden_act")) return fallback;
  std::string act = f.string("hidden_act", "");
  if (act == "gelu") return Activation::GeluErf;  // HF "gelu" is the exact erf form
  if (act == "gelu_pytorch_tanh" || act == "gelu_new" || act == "gelu_tanh")
    return Activation::GeluTanh;
  if (act == "silu" || act == "swish") return Activation::Silu;
  fail(source, ": field 'hidden_act' is '", act,
       "', expected one of gelu, gelu_pytorch_tanh, gelu_new, silu");
}

void read_common_sizes(const Fields& f, ModelConfig& c) {
  c.vocab_size = f.integer("vocab_size");
  c.d_model = f.integer("hidden_size");
  c.n_layers = f.integer("num_hidden_layers");
  c.n_heads = f.integer("num_attention_heads");
  c.n_kv_heads = f.integer("num_key_value_heads", c.n_heads);
  c.head_dim = f.integer("head_dim", c.n_heads > 0 ? c.d_model / c.n_heads : 0);
  c.top_k = f.integer("num_experts_per_tok");
  c.rms_eps = float(f.number("rms_norm_eps", 1e-5));
  c.bos_id = f.token_id("bos_token_id", 1);
  c.eos_id = f.token_id("eos_token_id", 2);
  c.pad_id = f.token_id("pad_token_id", 0);
}

// hpcai-tech Grok-1 port keys (grok-architecture.md 4.2): intermediate_size is the expert width.
void read_grok1(const Fields& f, const std::string& source, ModelConfig& c) {
  c.arch = Arch::Grok1;
  read_common_sizes(f, c);
  c.n_experts = f.has("num_experts") ? f.integer("num_experts") : f.integer("num_local_experts");
  c.expert_ffn = f.integer("intermediate_size");
  c.max_seq_len = f.integer("max_position_embeddings", 8192);
  c.rope_theta = f.number("rope_theta", 10000.0);
  c.attn_logit_multiplier =
      float(f.number("attn_output_multiplier", 1.0 / std::sqrt(double(c.head_dim))));
  c.attn_softcap = float(f.number("max_attn_value", 30.0));
  c.embed_multiplier = float(f.number("embedding_multiplier_scale", std::sqrt(double(c.d_model))));
  c.output_multiplier = float(f.number("output_multiplier_scale", 0.5773502691896257));
  // The JAX reference has no router soft-cap; a config may ask for SGLang's (section 7).
  c.router_softcap = float(f.number("router_logit_softcapping", 0.0));
  c.final_logit_softcap = float(f.number("final_logit_softcapping", 0.0));
  c.tied_embeddings = f.boolean("tie_word_embeddings", true);
  c.expert_act = parse_activation(f, source, Activation::GeluTanh);
  c.renormalize_topk = false;
  c.sandwich_norm = true;
  c.mask_pad_keys = true;
}

// Grok-2 keys (grok-architecture.md 1.2, semantics of section 3).
void read_grok2(const Fields& f, const std::string& source, ModelConfig& c) {
  c.arch = Arch::Grok2;
  read_common_sizes(f, c);
  c.n_experts =
      f.has("num_local_experts") ? f.integer("num_local_experts") : f.integer("num_experts");
  c.expert_ffn = f.integer("moe_intermediate_size");
  c.residual_moe = f.boolean("residual_moe", false);
  c.shared_ffn = c.residual_moe ? f.integer("intermediate_size") : 0;
  c.max_seq_len = f.integer("max_position_embeddings", 131072);
  c.rope_theta = f.number("rope_theta", 208533496.0);
  std::string rope_type = f.string("rope_type", "original");
  if (rope_type != "original" && rope_type != "default")
    fail(source, ": field 'rope_type' is '", rope_type,
         "', expected 'original' (plain RoPE, as SGLang runs Grok-2)");
  if (f.integer("sliding_window_size", -1) > 0)
    fail(source, ": field 'sliding_window_size' is set; sliding-window attention is not supported");
  c.attn_logit_multiplier = float(1.0 / std::sqrt(double(c.head_dim)));
  c.attn_softcap = float(f.number("attn_logit_softcapping", 30.0));
  int64_t temp_len = f.integer("attn_temperature_len", -1);
  c.attn_temperature_len = temp_len > 0 ? temp_len : 0;
  c.router_softcap = float(f.number("router_logit_softcapping", 30.0));
  c.final_logit_softcap = float(f.number("final_logit_softcapping", 0.0));
  c.embed_multiplier = float(f.number("embedding_multiplier_scale", std::sqrt(double(c.d_model))));
  c.output_multiplier = float(f.number("output_multiplier_scale", 1.0));
  c.tied_embeddings = f.boolean("tie_word_embeddings", false);
  // SGLang's CUDA kernels use the erf form for both MLPs (section 3.3).
  c.expert_act = parse_activation(f, source, Activation::GeluErf);
  c.shared_act = c.expert_act;
  c.renormalize_topk = false;
  c.sandwich_norm = true;
  c.mask_pad_keys = false;
}

// HF MixtralConfig keys: pre-norm, SiLU experts, renormalised top-k, no caps or multipliers.
void read_mixtral(const Fields& f, const std::string& source, ModelConfig& c) {
  c.arch = Arch::Mixtral;
  read_common_sizes(f, c);
  c.n_experts = f.integer("num_local_experts");
  c.expert_ffn = f.integer("intermediate_size");
  c.max_seq_len = f.integer("max_position_embeddings", 32768);
  c.rope_theta = f.number("rope_theta", 1e6);
  int64_t window = f.integer("sliding_window", 0);
  if (window > 0 && window < c.max_seq_len)
    fail(source, ": field 'sliding_window' is ", window,
         "; sliding-window attention is not supported (expected null)");
  c.attn_logit_multiplier = float(1.0 / std::sqrt(double(c.head_dim)));
  c.tied_embeddings = f.boolean("tie_word_embeddings", false);
  c.expert_act = parse_activation(f, source, Activation::Silu);
  c.renormalize_topk = true;
  c.sandwich_norm = false;
  c.mask_pad_keys = false;
  c.embed_multiplier = 1.0f;
  c.output_multiplier = 1.0f;
  if (f.has("rope_scaling"))
    fail(source, ": field 'rope_scaling' is set; only plain RoPE is supported for Mixtral");
}

}  // namespace

void ModelConfig::validate() const {
  const std::string& s = name;
  auto positive = [&](int64_t v, const char* key) {
    if (v <= 0) fail(s, ": field '", key, "' is ", v, ", expected a positive integer");
  };
  positive(vocab_size, "vocab_size");
  positive(d_model, "hidden_size");
  positive(n_layers, "num_hidden_layers");
  positive(n_heads, "num_attention_heads");
  positive(n_kv_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(n_experts, "num_experts");
  positive(top_k, "num_experts_per_tok");
  positive(expert_ffn, arch == Arch::Grok2 ? "moe_intermediate_size" : "intermediate_size");
  positive(max_seq_len, "max_position_embeddings");
  if (n_heads % n_kv_heads != 0)
    fail(s, ": num_attention_heads (", n_heads, ") must be a multiple of num_key_value_heads (",
         n_kv_heads, ")");
  if (head_dim % 2 != 0) fail(s, ": head_dim (", head_dim, ") must be even for rotary embeddings");
  if (top_k > n_experts)
    fail(s, ": num_experts_per_tok (", top_k, ") exceeds the number of experts (", n_experts, ")");
  if (residual_moe && shared_ffn <= 0)
    fail(s, ": residual_moe is true but intermediate_size (the shared MLP width) is ", shared_ffn);
  if (!(rms_eps > 0)) fail(s, ": field 'rms_norm_eps' is ", rms_eps, ", expected > 0");
  if (!(rope_theta > 1)) fail(s, ": field 'rope_theta' is ", rope_theta, ", expected > 1");
  if (attn_softcap < 0 || router_softcap < 0 || final_logit_softcap < 0)
    fail(s, ": soft-cap values must be >= 0 (0 = off)");
  auto token = [&](int32_t id, const char* key) {
    if (id >= vocab_size)
      fail(s, ": field '", key, "' is ", id, ", outside the vocabulary of ", vocab_size);
  };
  token(bos_id, "bos_token_id");
  token(eos_id, "eos_token_id");
  token(pad_id, "pad_token_id");
}

ModelConfig parse_model_config(std::string_view json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    // Not only parse_error: a number too large for a double is out_of_range (found by
    // fuzz_config_json).
    fail(source, ": not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail(source, ": expected a JSON object at the top level");
  Fields f(j, source);

  std::string arch;
  if (f.has("architectures")) {
    const json& a = j["architectures"];
    if (!a.is_array() || a.empty() || !a[0].is_string())
      fail(source, ": field 'architectures' must be a non-empty list of strings");
    arch = a[0].get<std::string>();
  }
  std::string model_type = f.string("model_type", "");

  ModelConfig c;
  c.name = source;
  if (arch == "MixtralForCausalLM" || (arch.empty() && model_type == "mixtral")) {
    read_mixtral(f, source, c);
  } else if (arch == "Grok1ModelForCausalLM" || arch == "Grok1ForCausalLM" ||
             arch == "GrokForCausalLM" ||
             (arch.empty() && (model_type == "grok-1" || model_type == "grok"))) {
    // Grok-2 shares the Grok-1 class name; its MoE keys tell the two apart.
    if (f.has("moe_intermediate_size") || f.has("residual_moe"))
      read_grok2(f, source, c);
    else
      read_grok1(f, source, c);
  } else {
    fail(source, ": unknown architecture '", arch.empty() ? model_type : arch,
         "' in field 'architectures' (expected Grok1ModelForCausalLM, Grok1ForCausalLM or "
         "MixtralForCausalLM)");
  }
  c.validate();
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the model config (expected an HF-style config.json)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path);
}

std::vector<std::string> preset_names() {
  return {"grok-1", "grok-2"};
}

ModelConfig preset_config(std::string_view name) {
  ModelConfig c;
  c.name = std::string(name);
  if (name == "grok-1") {
    // grok-architecture.md 1.1 (J-run, J-model).
    c.arch = Arch::Grok1;
    c.vocab_size = 131072;
    c.d_model = 6144;
    c.n_layers = 64;
    c.n_heads = 48;
    c.n_kv_heads = 8;
    c.head_dim = 128;
    c.n_experts = 8;
    c.top_k = 2;
    c.expert_ffn = 32768;
    c.max_seq_len = 8192;
    c.rope_theta = 10000.0;
    c.attn_logit_multiplier = 0.08838834764831845f;
    c.attn_softcap = 30.0f;
    c.embed_multiplier = 78.38367176906169f;
    c.output_multiplier = 0.5773502691896257f;
    c.expert_act = Activation::GeluTanh;
    c.tied_embeddings = true;
    c.mask_pad_keys = true;
  } else if (name == "grok-2") {
    // grok-architecture.md 1.2 (G2cfg) with the semantics of section 3.
    c.arch = Arch::Grok2;
    c.vocab_size = 131072;
    c.d_model = 8192;
    c.n_layers = 64;
    c.n_heads = 64;
    c.n_kv_heads = 8;
    c.head_dim = 128;
    c.n_experts = 8;
    c.top_k = 2;
    c.expert_ffn = 16384;
    c.shared_ffn = 32768;
    c.residual_moe = true;
    c.max_seq_len = 131072;
    c.rope_theta = 208533496.0;
    c.attn_logit_multiplier = float(1.0 / std::sqrt(128.0));
    c.attn_softcap = 30.0f;
    c.attn_temperature_len = 1024;
    c.router_softcap = 30.0f;
    c.final_logit_softcap = 50.0f;
    c.embed_multiplier = 90.50966799187809f;
    c.output_multiplier = 0.5f;
    c.expert_act = Activation::GeluErf;
    c.shared_act = Activation::GeluErf;
    c.tied_embeddings = false;
  } else {
    fail("unknown preset '", name, "' (expected grok-1 or grok-2)");
  }
  c.validate();
  return c;
}

}  // namespace moescope
