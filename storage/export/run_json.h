// A whole run as one JSON document (nlohmann/json), for scripts and notebooks: the run's
// settings (the *_json fields embedded as JSON where they parse), status, drops, tokens with
// their alternatives, routing per layer and position, ops with their names, and attention maps
// as float rows. NaN log-probabilities are written as null.
//
//   {"format": "moescope-run", "version": 1, "run": {...}, "drops": {...},
//    "tokens": [...], "routing": [{"layer", "n_experts", "top_k", "positions": [...]}],
//    "ops": [...], "attention": [{..., "probs": [[...], ...]}]}
#pragma once

#include <string>

#include "storage/run_data.h"

namespace moescope::storage {

// Writes atomically (temporary file + rename); throws Error naming path on failure.
void export_run_json(const RunData& run, const std::string& path);

}  // namespace moescope::storage
