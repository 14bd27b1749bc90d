// Per-op statistics as CSV with the columns of Tracy's tracy-csvexport, so scripts written for it
// read ours: name,src_file,src_line,total_ns,total_perc,counts,mean_ns,min_ns,max_ns,std_ns.
// One row per op name, largest total first. src_file and src_line are empty (ops are named by
// site, not by source location); total_perc is the share of the span from the first op's start
// to the last op's end, as Tracy's is of the trace's length; std_ns is the sample deviation.
#pragma once

#include <string>

#include "storage/run_data.h"

namespace moescope::storage {

// Writes atomically (temporary file + rename); throws Error naming path on failure.
void export_ops_csv(const RunData& run, const std::string& path);

}  // namespace moescope::storage
