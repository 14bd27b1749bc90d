// Opening a model directory as real checkpoints ship: config.json + *.safetensors (+ index or
// TP-presharded files) + tokenizer.model.
#pragma once

#include <memory>
#include <string>

#include "engine/config/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/model_weights.h"

namespace moescope {

struct LoadedModel {
  std::string dir;
  ModelConfig config;
  std::shared_ptr<const Checkpoint> checkpoint;
  std::shared_ptr<const ModelWeights> weights;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the directory has none and none was needed
};

// Reads and validates config, weights (every tensor checked) and tokenizer. Throws
// moescope::Error naming the directory, file, tensor or field. A ckpt-0 directory without
// config.json gets the grok-1 preset and looks for its tokenizer above it too
// (checkpoint_config.h); tokenizer_path, when given, replaces the directory's tokenizer.
LoadedModel load_model(const std::string& dir, bool require_tokenizer,
                       const std::string& tokenizer_path = "");

}  // namespace moescope
