// config.json for a converted checkpoint: the source's own config.json with "architectures" set
// for the output naming scheme, or, for a ckpt-0 directory without one, the grok-1 preset
// written in hpcai-tech keys (grok-architecture.md 4.2) so that it reads back identically.
#pragma once

#include <string>

#include "engine/config/model_config.h"
#include "engine/weights/tensor_names.h"

namespace moescope {

// source_json: the text of the source's config.json, or "" when it has none.
std::string converted_config_json(const std::string& source_json, const ModelConfig& c,
                                  NamingScheme out_names);

}  // namespace moescope
