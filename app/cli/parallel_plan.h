// `moescope info --tp N --ep M --dtype D`: the per-rank memory plan of a sharded model
// (engine/parallel/layout.h), computed from the configuration alone, against a GPU's memory.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "app/cli/args.h"
#include "engine/config/model_config.h"
#include "engine/parallel/layout.h"

namespace moescope::app {

struct PlanRequest {
  parallel::ParallelLayout layout;
  parallel::WeightFormat format = parallel::WeightFormat::BF16;
  int64_t device_bytes = 80'000'000'000;  // --gpu-memory-gb, 10^9 bytes
};

// Reads --tp, --ep, --expert-placement (as sharding_options does), --dtype, --gpu-memory-gb;
// nullopt when none of --tp, --ep and --dtype is given.
std::optional<PlanRequest> plan_request(Args& args);

// Validates the layout against c (throws naming the parameter) and renders the plan.
nlohmann::json plan_json(const ModelConfig& c, PlanRequest& request);
void print_plan(const ModelConfig& c, PlanRequest& request);

}  // namespace moescope::app
