#include "engine/convert/config_writer.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace moescope {

namespace {

nlohmann::ordered_json grok1_keys(const ModelConfig& c) {
  return {{"architectures", {"Grok1ModelForCausalLM"}},
          {"model_type", "grok-1"},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.d_model},
          {"num_hidden_layers", c.n_layers},
          {"num_attention_heads", c.n_heads},
          {"num_key_value_heads", c.n_kv_heads},
          {"head_dim", c.head_dim},
          {"num_experts", c.n_experts},
          {"num_experts_per_tok", c.top_k},
          {"intermediate_size", c.expert_ffn},
          {"max_position_embeddings", c.max_seq_len},
          {"rope_theta", c.rope_theta},
          {"attn_output_multiplier", double(c.attn_logit_multiplier)},
          {"max_attn_value", double(c.attn_softcap)},
          {"embedding_multiplier_scale", double(c.embed_multiplier)},
          {"output_multiplier_scale", double(c.output_multiplier)},
          {"rms_norm_eps", double(c.rms_eps)},
          {"tie_word_embeddings", c.tied_embeddings},
          {"bos_token_id", c.bos_id},
          {"eos_token_id", c.eos_id},
          {"pad_token_id", c.pad_id},
          {"torch_dtype", "bfloat16"}};
}

}  // namespace

std::string converted_config_json(const std::string& source_json, const ModelConfig& c,
                                  NamingScheme out_names) {
  nlohmann::ordered_json j;
  if (source_json.empty()) {
    if (c.arch != Arch::Grok1)
      fail("cannot write a config.json for a ", arch_name(c.arch),
           " model without a source config.json");
    j = grok1_keys(c);
  } else {
    try {
      j = nlohmann::ordered_json::parse(source_json);
    } catch (const nlohmann::json::exception& e) {
      fail(c.name, ": not valid JSON (", e.what(), ")");
    }
  }
  // Grok-1 loaders pick the module by class name: SGLang's Grok1ForCausalLM or the HF ports'
  // Grok1ModelForCausalLM. Grok-2 and Mixtral keep theirs.
  if (c.arch == Arch::Grok1)
    j["architectures"] = {out_names == NamingScheme::SglangGrok ? "Grok1ForCausalLM"
                                                                : "Grok1ModelForCausalLM"};
  return j.dump(2) + "\n";
}

}  // namespace moescope
