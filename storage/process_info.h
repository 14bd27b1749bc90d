// Which process wrote a run, and whether it is still there. A run's row records the writer's pid
// and its start time (from /proc, in clock ticks since boot) because pids are reused: a pid that
// is alive but started at another time belongs to a different process, and the run is orphaned.
#pragma once

#include <cstdint>
#include <string>

namespace moescope::storage {

struct ProcessId {
  int64_t pid = 0;
  int64_t start = 0;  // /proc/PID/stat field 22; 0 when unknown
};

// This process.
ProcessId current_process();
// True while that exact process runs (a zombie counts as gone: it can no longer write).
// A pid of 0 (unknown writer, e.g. a run from an older schema) is never alive.
bool process_alive(const ProcessId& p);

// The error recorded on a run whose writer ended without finishing it (killed, crashed).
std::string abandoned_run_error(int64_t writer_pid);

}  // namespace moescope::storage
