// `moescope bench --ceilings`: measures the machine's ceilings that the op statistics compare
// against (memory read bandwidth with one and with N threads; the f32 GEMM rate of the CPU
// matmul kernel) and stores them (inspectors/analysis/ceilings.h).
#pragma once

#include "app/cli/args.h"

namespace moescope::app {

// Reads --threads, --array-mb, --ceilings-file, --json from args; prints and saves the result.
int bench_ceilings(Args& args);

}  // namespace moescope::app
