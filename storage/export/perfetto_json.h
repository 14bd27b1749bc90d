// A run's timeline as Chrome/Perfetto trace-event JSON (tooling-conventions.md sections 0 and 3),
// openable in ui.perfetto.dev, chrome://tracing and Tracy's importer, and parseable by scripts
// written for PyTorch/Kineto traces:
//   - one process per device ("CPU", "GPU 0 (name)"), one thread per stream or engine thread;
//   - each op a complete event (ph "X"), cat "cpu_op" on the CPU and "kernel" on a GPU, with
//     Kineto's "device"/"stream" args plus ours (layer, expert, step, bytes, flops, kind);
//   - forward steps ("prefill", "decode 12") and layers on two synthetic threads per device, so
//     they never overlap the ops;
//   - expert load as counters ("moe L3 load", args e0..eN: tokens routed so far, per step);
//   - ts and dur in microseconds rebased to the run's start, fractional, so nanoseconds survive.
#pragma once

#include <string>

#include "storage/run_data.h"

namespace moescope::storage {

// Writes atomically (temporary file + rename); throws Error naming path on failure.
void export_perfetto_json(const RunData& run, const std::string& path);

}  // namespace moescope::storage
