// The SQLite trace store's read side: list the runs of a file, load a run, and follow a run
// that another process (or thread) is still writing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/run_data.h"

namespace moescope::storage {

class TraceFile {
 public:
  // Opens read-only. Throws moescope::Error naming the file when it is missing, not an SQLite
  // database, not a moescope trace, corrupt, or of a newer schema.
  static std::unique_ptr<TraceFile> open(const std::string& path);
  virtual ~TraceFile() = default;

  virtual const std::string& path() const = 0;
  virtual int schema_version() const = 0;
  // Runs in id order. A run still marked running whose writer process is gone reads as aborted.
  virtual std::vector<RunSummary> runs() = 0;
  // The whole run. Throws naming the file and the run id when there is no such run.
  virtual RunData load(int64_t run) = 0;
  // Adds to `run` (previously returned by load) what was committed since; true when anything
  // changed (new tokens, routing, ops, attention, memory samples, drops, or the status).
  virtual bool refresh(RunData& run) = 0;
};

}  // namespace moescope::storage
