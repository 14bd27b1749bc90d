// `moescope bench --ceilings`: measures the machine's ceilings that the op statistics compare
// against (memory read bandwidth with one and with N threads; the f32 GEMM rate of the CPU
// matmul kernel) and stores them (inspectors/analysis/ceilings.h).
#pragma once

#include <cstdint>

#include "app/cli/args.h"

namespace moescope::app {

// Reads --threads, --array-mb, --ceilings-file, --json from args; prints and saves the result.
int bench_ceilings(Args& args);

// The memory read bandwidth (GB/s) with `threads` threads, measured as --ceilings measures it
// (best of a few sums of an array of array_mb MiB on huge pages, every page mapped first); the
// array is freed on return.
double measure_read_gbps(int threads, int64_t array_mb);

}  // namespace moescope::app
