// A description of the machine a run executes on, for the trace's run record.
#pragma once

#include <string>

namespace moescope {

// {"host", "cpu", "logical_cpus", "threads", "os"} as JSON.
std::string machine_json(int threads);

}  // namespace moescope
