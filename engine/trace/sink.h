// Where trace events go. The storage layer implements this (an asynchronous SQLite writer that
// also feeds the in-memory TraceModel); tests implement it to inspect what the engine reports.
//
// Calls come from engine threads and must not block on I/O: implementations copy the payload
// into bounded queues and drop (counting the drop) when a queue is full.
#pragma once

#include <cstdint>
#include <string>

#include "engine/trace/events.h"

namespace moescope::trace {

class TraceSink {
 public:
  virtual ~TraceSink() = default;

  // Registers a run and returns its id. The only call that may wait (once per run).
  virtual int64_t begin_run(const RunInfo& info) = 0;
  // Final status; error is empty unless the run failed.
  virtual void end_run(int64_t run, RunStatus status, int64_t end_ns, const std::string& error) = 0;

  virtual void token(int64_t run, const TokenEvent& e) = 0;
  virtual void routing(int64_t run, const RoutingBlock& b) = 0;
  virtual void attention(int64_t run, const AttentionBlock& b) = 0;
  virtual void op(int64_t run, const OpEvent& e) = 0;
  // Not pure: sinks that only look at the model's events (tests, bench) need not care.
  virtual void memory(int64_t run, const MemorySample& s) {}
};

}  // namespace moescope::trace
