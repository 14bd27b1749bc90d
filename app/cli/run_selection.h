// Which run of a trace file a command works on: `--run N`, or the file's last run when N <= 0.
#pragma once

#include <cstdint>
#include <string>

#include "engine/core/error.h"
#include "storage/trace_file.h"

namespace moescope::app {

// run when > 0 (the reader checks it exists), else the id of the last run of file (at path).
// Throws moescope::Error naming the file when it holds no runs.
inline int64_t resolve_run(storage::TraceFile& file, const std::string& path, int64_t run) {
  if (run > 0) return run;
  auto runs = file.runs();
  if (runs.empty()) fail("trace ", path, " holds no runs");
  return runs.back().id;
}

}  // namespace moescope::app
