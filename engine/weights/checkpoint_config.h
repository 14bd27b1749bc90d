// The configuration that goes with a checkpoint directory, and where its tokenizer is.
//
// A directory with a config.json uses it. Grok-1's original ckpt-0 directory ships without one
// (grok-architecture.md 4.1): it gets the built-in grok-1 preset, unless a config.json was put
// beside the tensor files.
#pragma once

#include <string>

#include "engine/config/model_config.h"

namespace moescope {

// True when dir holds Grok-1 JAX checkpoint files (tensor00000_000 ...).
bool is_jax_checkpoint_dir(const std::string& dir);

// dir/config.json, or the grok-1 preset for a ckpt-0 directory without one. Throws naming the
// file when a config.json is missing (other layouts) or invalid.
ModelConfig checkpoint_config(const std::string& dir);

// The tokenizer file for the model in dir: find_tokenizer_file(dir); for a ckpt-0 directory,
// which ships without a tokenizer, also its parent and grandparent (the release keeps
// tokenizer.model at the top of the repository, above checkpoints/ckpt-0). "" when none.
std::string find_checkpoint_tokenizer(const std::string& dir);

}  // namespace moescope
