// ModelConfig as JSON, for the trace's run record (every switch, so a stored run says exactly
// what math produced it).
#pragma once

#include <string>

#include "engine/config/model_config.h"

namespace moescope {

std::string config_to_json(const ModelConfig& c);

}  // namespace moescope
