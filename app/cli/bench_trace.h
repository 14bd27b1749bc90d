// `moescope bench --trace-overhead`: what recording costs. The same greedy generation runs
// untraced, then recorded with routing and ops, then with attention maps too (every layer and
// head under the default budget), interleaved over the repeats so drift hits every mode alike;
// prints prefill and decode tokens/s per mode, the slowdown against untraced, and the trace
// bytes per token each mode wrote.
#pragma once

#include "app/cli/args.h"

namespace moescope::app {

// Reads --model, --prompt-tokens, --gen-tokens, --threads, --repeat, --json.
int bench_trace_overhead(Args& args);

}  // namespace moescope::app
