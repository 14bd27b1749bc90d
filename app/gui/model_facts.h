// The loaded model described for the Model panel: configuration, parameter counts and memory,
// computed from the engine's config (panels cannot include engine/).
#pragma once

#include "engine/config/model_config.h"
#include "inspectors/panels/workbench_status.h"

namespace moescope::gui {

panels::ModelFacts describe_model(const ModelConfig& config, const std::string& dir, int threads,
                                  int64_t weight_file_bytes);

}  // namespace moescope::gui
