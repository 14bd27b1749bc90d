// Options shared by several commands.
#pragma once

#include <string>

#include "app/cli/args.h"
#include "engine/sample/sampler.h"

namespace moescope::app {

// --threads N (default: all hardware threads); N must be >= 1.
int thread_option(Args& args);
// --temperature, --top-k, --top-p, --seed.
SamplingParams sampling_options(Args& args);
// The whole file; throws moescope::Error naming it when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace moescope::app
