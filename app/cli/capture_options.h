// The capture options of commands that record a trace (`run`, the workbench):
//   --no-routing, --no-ops, --no-prompt-logprobs
//   --attention                      capture attention maps (budgeted)
//   --attention-layers 0,2,5-7       layers to capture (default all)
//   --attention-heads 0-3            query heads to capture (default all)
//   --attention-steps FIRST:LAST     forward steps (0 = prefill; default all)
//   --attention-prompt-cells N       per head, the prompt map's cell budget (default 1048576)
//   --attention-budget-mb N          f16 payload cap over the run (default 256)
#pragma once

#include <string>
#include <vector>

#include "app/cli/args.h"
#include "engine/trace/capture.h"

namespace moescope::app {

trace::CaptureSettings capture_options(Args& args);

// "0,2,5-7" -> {0, 2, 5, 6, 7}. Throws UsageError naming the option.
std::vector<int32_t> parse_index_list(const std::string& text, const std::string& option);

}  // namespace moescope::app
