// Samples the process's memory during a traced run and reports it to the tracer
// (trace::MemorySample): a long run records how its resident set grew, so a run can be checked
// against its budgets (KV cache, attention capture, trace queue) after the fact.
#pragma once

#include <cstdint>

#include "engine/trace/tracer.h"

namespace moescope {

// The resident set size of this process now, in bytes (/proc/self/statm); -1 when unknown.
int64_t process_rss_bytes();
// The largest resident set size of this process so far, in bytes (getrusage); -1 when unknown.
int64_t process_peak_rss_bytes();

class MemorySampler {
 public:
  // Samples at most every capture().memory_interval_ms; never when that is 0.
  explicit MemorySampler(trace::Tracer& tracer);
  // Samples when the interval has passed since the last sample (one clock read otherwise).
  void maybe_sample(int64_t step);
  // Samples now (the start and the end of a run).
  void sample(int64_t step);

 private:
  trace::Tracer& tracer_;
  int64_t interval_ns_;
  int64_t last_ns_ = 0;
};

}  // namespace moescope
