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
// moescope::Error naming the directory, file, tensor or field.
LoadedModel load_model(const std::string& dir, bool require_tokenizer);

}  // namespace moescope
