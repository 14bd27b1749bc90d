// Converting a checkpoint directory into safetensors in our layout (or another naming scheme),
// then verifying the result against the source tensor by tensor.
//
// Input: anything Checkpoint::open reads - Grok-1's JAX ckpt-0, torch .bin HF ports (with or
// without pytorch_model.bin.index.json), safetensors (single, sharded with an index, or Grok-2's
// TP-presharded files, joined). Output: model.safetensors, or model-0000i-of-0000N.safetensors +
// model.safetensors.index.json above the shard size; config.json; the tokenizer files.
//
// dtype keep writes every tensor as stored (int8 with its group scales, "<name>_scale" [out, G]);
// bf16 writes every floating tensor as bf16 (int8/fp8 dequantised: bf16(q * scale)); int8
// quantises the projection matrices (attention, experts, shared MLP) symmetrically per row and
// group with bf16 scales, the rest kept. Names are mapped role by role between the schemes of
// tensor_names.h (hpcai-tech = our layout, SGLang/Grok-2, keyfan, Mixtral).
//
// The output is written into a temporary directory beside the target, verified (every tensor of
// the output loaded back and compared with the source: bytes identical when the dtype is kept,
// within one bf16 rounding for bf16, within half a quantisation step for int8; the config and
// weights load as a model) and only then renamed into place: a failed or interrupted conversion
// leaves no half-written target.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/weights/tensor_names.h"

namespace moescope {

enum class ConvertDtype : uint8_t { Keep, Bf16, Int8 };

const char* convert_dtype_name(ConvertDtype d);

struct ConvertOptions {
  std::string from, to;
  ConvertDtype dtype = ConvertDtype::Keep;
  std::optional<NamingScheme> names;  // output scheme; default: the input's
  uint64_t shard_bytes = 5'000'000'000;
  int64_t int8_groups = 1;  // scale groups along the input dim for --dtype int8
  std::string tokenizer;    // a tokenizer file to include (default: the source's)
  bool overwrite = false;   // replace an existing non-empty target directory
};

struct ConvertReport {
  std::string layout;  // how the input was stored, e.g. "Grok-1 JAX ckpt-0 (146 pickles)"
  NamingScheme in_names = NamingScheme::HpcaiGrok1;
  NamingScheme out_names = NamingScheme::HpcaiGrok1;
  std::vector<std::string> files;   // weight files written (names)
  std::vector<std::string> copied;  // other files written: config.json, tokenizer files
  bool config_generated = false;    // config.json written from a preset
  size_t tensors = 0;
  uint64_t bytes = 0;  // tensor bytes written
  uint64_t source_bytes = 0;
  std::vector<std::string> dropped;  // source tensors left out (e.g. a tied lm_head copy)

  // Verification.
  size_t identical = 0;        // same dtype and bytes
  size_t within_rounding = 0;  // bf16 output within one rounding of the source value
  size_t within_step = 0;      // int8 output within half a quantisation step
  double max_rel_error = 0;    // over converted tensors: max |out - src| / max |src|
  std::string model_summary;   // the output loaded as a model: "grok-1, 12 layers, ..."
};

// Converts, verifies, renames into place. Throws moescope::Error naming the file, tensor or
// option; nothing is left at opt.to (or its temporary) on failure. progress receives one line
// per step.
ConvertReport convert_checkpoint(const ConvertOptions& opt,
                                 const std::function<void(const std::string&)>& progress = {});

}  // namespace moescope
